using System.ComponentModel.DataAnnotations;

namespace CallMedia.Delivery;

/// <summary><c>Delivery:*</c> — how delivered files are named and in which time zone their names and sidecars show times.</summary>
public sealed class DeliverySettings : IValidatableObject
{
    public const string Section = "Delivery";

    /// <summary>A <see cref="CallMedia.Delivery.FileNameTemplate"/>; unset keeps the CallREC names <c>&lt;id&gt;_&lt;sid&gt;.&lt;ext&gt;</c>.</summary>
    public string? FileNameTemplate { get; set; }

    /// <summary>IANA time zone of file names and <c>calldata.json</c>'s local times, unless a token names its own (<c>tz=</c>).</summary>
    public string TimeZone { get; set; } = "UTC";

    /// <summary>
    /// <c>calldata.json</c> in every zip, right after <c>calldata.txt</c> (on by default). Off: a zip holds it only when its
    /// token carries a delivery option (<c>tz</c>, <c>name</c>, <c>channels</c>, <c>format</c>, <c>sidecar</c>), for
    /// deployments whose clients cannot live with an entry they do not know.
    /// </summary>
    public bool CallDataJsonInEveryZip { get; set; } = true;

    /// <summary>
    /// Behind nginx: the prefix of an <c>internal</c> nginx location that aliases the media folder (e.g.
    /// <c>/_callmedia_media/</c>). Set, a plain stored file in the media folder is answered with <c>X-Accel-Redirect</c>
    /// and nginx sends it (<see cref="AccelRedirect"/>); unset (the default), CallMedia sends every byte itself.
    /// </summary>
    public string? AccelRedirect { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrEmpty(AccelRedirect)
            && (!AccelRedirect.StartsWith('/') || !AccelRedirect.EndsWith('/') || AccelRedirect.Contains("..", StringComparison.Ordinal)
                || AccelRedirect.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '/' or '_' or '-' or '.'))))
        {
            yield return new ValidationResult(
                $"Delivery:AccelRedirect must be the path of an internal nginx location, starting and ending with '/' (such as /_callmedia_media/), of letters, digits, '_', '-', '.'; '{AccelRedirect}' is not",
                [nameof(AccelRedirect)]);
        }

        if (!string.IsNullOrEmpty(FileNameTemplate))
        {
            string? error = null;
            try
            {
                CallMedia.Delivery.FileNameTemplate.Parse(FileNameTemplate);
            }
            catch (TemplateException ex)
            {
                error = ex.Message;
            }

            if (error is not null)
            {
                yield return new ValidationResult($"Delivery:FileNameTemplate: {error}", [nameof(FileNameTemplate)]);
            }
        }

        if (DeliveryOptions.FindZone(TimeZone) is null)
        {
            yield return new ValidationResult($"Delivery:TimeZone must be an IANA time zone such as Europe/Prague; '{TimeZone}' is not one", [nameof(TimeZone)]);
        }
    }
}

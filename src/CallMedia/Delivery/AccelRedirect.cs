using System.Text.RegularExpressions;
using CallMedia.Storage;
using Microsoft.Extensions.Options;

namespace CallMedia.Delivery;

/// <summary>
/// <c>Delivery:AccelRedirect</c>, for a deployment behind nginx: CallMedia still authorises, redeems and audits every
/// request, then answers a plain stored file in the media folder with <c>X-Accel-Redirect</c> to nginx's internal
/// location for that folder, and nginx sends the bytes itself (sendfile, its own ranges and conditionals). What
/// CallMedia cannot know is how many bytes nginx then sent: the audit record says <c>offloaded</c> without a count,
/// and carries its seq to nginx in <c>X-CallMedia-Audit</c> for nginx's access log (docs/deployment.md).
/// </summary>
public sealed partial class AccelRedirect(IOptions<DeliverySettings> settings, MediaRoot media)
{
    /// <summary>The response header naming the audit record, for nginx to log beside the bytes it sent.</summary>
    public const string AuditHeader = "X-CallMedia-Audit";

    /// <summary>
    /// The internal URI nginx should send for <paramref name="file"/>, or null when it is not offloaded: the setting is
    /// off, the object is not a plain local file inside the media folder (encrypted, in S3, linked in from elsewhere),
    /// or its path has characters an internal redirect would not carry as written.
    /// </summary>
    public string? InternalUri(FileDelivery file)
    {
        if (settings.Value.AccelRedirect is not { Length: > 0 } prefix || file.Stored?.PlainPath is not { } plain
            || !plain.StartsWith(media.Root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            return null;
        }

        var relative = plain[(media.Root.Length + 1)..].Replace(Path.DirectorySeparatorChar, '/');
        return SafePath().IsMatch(relative) && !relative.Split('/').Any(p => p is "" or "." or "..") ? prefix + relative : null;
    }

    /// <summary>The answer nginx turns into the file: no body, the headers the client should see, the internal URI.</summary>
    public static IResult Result(string uri, FileDelivery file, long? auditSeq) => new Redirected(uri, file, auditSeq);

    [GeneratedRegex("^[A-Za-z0-9._/-]+$")]
    private static partial Regex SafePath();

    private sealed class Redirected(string uri, FileDelivery file, long? auditSeq) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = file.ContentType;
            response.Headers.ContentDisposition = SendCallFileEndpoints.Disposition(file.Inline ? "inline" : "attachment", file.FileName);
            response.Headers.CacheControl = "private, no-transform";
            response.Headers["X-Accel-Redirect"] = uri;
            if (auditSeq is { } seq)
            {
                response.Headers[AuditHeader] = seq.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            response.ContentLength = 0;
            return Task.CompletedTask;
        }
    }
}

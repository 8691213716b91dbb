using System.Text.Json;
using System.Text.Json.Serialization;
using CallMedia.Calls;
using CallMedia.Media;
using CallMedia.Tokens;

namespace CallMedia.Delivery;

/// <summary>A token option that is not valid; the message names <see cref="Parameter"/> and is safe to show.</summary>
public sealed class DeliveryOptionException(string parameter, string message) : Exception(message)
{
    public string Parameter { get; } = parameter;
}

/// <summary>
/// How a token's media is delivered, chosen when it is issued (CallREC <c>downloadtoken</c> parameters or the JSON API's
/// token request) and stored with the token: the channel layout and format of audio, the file-name template, the time
/// zone of names and sidecars, and whether a single download comes as a zip with its sidecar. Old clients send none of
/// them: <see cref="None"/>, stored as NULL, is exactly the delivery they always had.
/// </summary>
public sealed record DeliveryOptions
{
    public static readonly DeliveryOptions None = new();

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>Null: as recorded (two legs merged into stereo for a stream, as always).</summary>
    public ChannelMode? Channels { get; init; }

    /// <summary><c>mp3</c> or <c>wav</c> for converted audio; null: the recorded format where nothing is converted, MP3 otherwise.</summary>
    public string? Format { get; init; }

    /// <summary>A file-name template overriding <c>Delivery:FileNameTemplate</c>.</summary>
    public string? Name { get; init; }

    /// <summary>IANA time zone overriding <c>Delivery:TimeZone</c>.</summary>
    public string? Tz { get; init; }

    /// <summary>A single-call download as a zip with <c>calldata.txt</c> and <c>calldata.json</c>.</summary>
    public bool Sidecar { get; init; }

    public bool ConvertsAudio => Channels is not null || Format is not null;

    public string? ToJson() => this == None ? null : JsonSerializer.Serialize(this, Json);

    public static DeliveryOptions FromJson(string? json) =>
        string.IsNullOrEmpty(json) ? None : JsonSerializer.Deserialize<DeliveryOptions>(json, Json) ?? None;

    /// <summary>
    /// Reads and checks the options from their text values (each null when absent), for a token of
    /// <paramref name="type"/> and <paramref name="action"/>. Throws <see cref="DeliveryOptionException"/> naming the bad one.
    /// </summary>
    public static DeliveryOptions Parse(string? channels, string? format, string? name, string? tz, string? sidecar, int type, TokenAction action)
    {
        var options = new DeliveryOptions
        {
            Channels = string.IsNullOrEmpty(channels) ? null : channels switch
            {
                "stereo" => ChannelMode.Stereo,
                "mono" => ChannelMode.Mono,
                "caller" => ChannelMode.Caller,
                "callee" => ChannelMode.Callee,
                _ => throw new DeliveryOptionException("channels", "channels must be stereo, mono, caller or callee"),
            },
            Format = string.IsNullOrEmpty(format) ? null : format is "mp3" or "wav"
                ? format
                : throw new DeliveryOptionException("format", "format must be mp3 or wav"),
            Name = string.IsNullOrEmpty(name) ? null : name,
            Tz = string.IsNullOrEmpty(tz) ? null : tz,
            Sidecar = sidecar switch
            {
                null or "" or "0" or "false" => false,
                "1" or "true" => true,
                _ => throw new DeliveryOptionException("sidecar", "sidecar must be 1 or 0"),
            },
        };

        if (options.Name is { } template)
        {
            try
            {
                FileNameTemplate.Parse(template);
            }
            catch (TemplateException ex)
            {
                throw new DeliveryOptionException("name", "name: " + ex.Message);
            }
        }

        if (options.Tz is { } zone && FindZone(zone) is null)
        {
            throw new DeliveryOptionException("tz", $"tz must be an IANA time zone such as Europe/Prague; '{Clip(zone)}' is not one");
        }

        if (options.ConvertsAudio && (type != MediaType.Audio || action == TokenAction.Prepare))
        {
            throw new DeliveryOptionException(options.Channels is null ? "format" : "channels", $"{(options.Channels is null ? "format" : "channels")} applies to audio (type=1) streams and downloads");
        }

        // A stream's name is its Content-Disposition file name (and tz its times); a prepare token delivers no file.
        if ((options.Name ?? options.Tz) is not null && action == TokenAction.Prepare)
        {
            var field = options.Name is null ? "tz" : "name";
            throw new DeliveryOptionException(field, $"{field} applies to streams and downloads (a prepare token delivers no file)");
        }

        if (options.Sidecar && action != TokenAction.Download)
        {
            throw new DeliveryOptionException("sidecar", "sidecar applies to action=download");
        }

        return options;
    }

    /// <summary>The IANA zone of that name, or null.</summary>
    public static TimeZoneInfo? FindZone(string? id) =>
        id is { Length: > 0 and <= 64 } && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) && zone.HasIanaId ? zone : null;

    private static string Clip(string text)
    {
        var clean = new string(text.Take(40).Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return text.Length > 40 ? clean + "…" : clean;
    }
}

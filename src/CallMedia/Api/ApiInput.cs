using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace CallMedia.Api;

/// <summary>Reading /api/v1 requests strictly: unknown JSON fields, bad numbers, dates and zones are refused with a message that names them.</summary>
public static partial class ApiInput
{
    public const int MaxLimit = 500;

    private static readonly JsonSerializerOptions Strict = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        // A field given twice is refused, not read as its last value: a proxy or filter in front that reads the first
        // would see another request than this server.
        AllowDuplicateProperties = false,
        RespectNullableAnnotations = true,
        NumberHandling = JsonNumberHandling.Strict,
        MaxDepth = 16,
    };

    [GeneratedRegex("The JSON property '([^']*)' could not be mapped", RegexOptions.CultureInvariant)]
    private static partial Regex UnmappedProperty();

    [GeneratedRegex("Duplicate property '([^']*)'", RegexOptions.CultureInvariant)]
    private static partial Regex DuplicateProperty();

    [GeneratedRegex("missing required properties including: ('[^']*'(, '[^']*')*)", RegexOptions.CultureInvariant)]
    private static partial Regex MissingProperties();

    /// <summary>The JSON body as <typeparamref name="T"/>; throws <see cref="ApiInputException"/> saying what is wrong.</summary>
    public static async Task<T> ReadBodyAsync<T>(HttpRequest request)
        where T : class
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(request.Body, Strict, request.HttpContext.RequestAborted)
                ?? throw new ApiInputException("The request body must be a JSON object.");
        }
        catch (JsonException ex)
        {
            if (UnmappedProperty().Match(ex.Message) is { Success: true } unknown)
            {
                throw new ApiInputException($"Unknown field '{unknown.Groups[1].Value}'.", unknown.Groups[1].Value);
            }

            if (DuplicateProperty().Match(ex.Message) is { Success: true } twice)
            {
                throw new ApiInputException($"Field '{twice.Groups[1].Value}' is given more than once.", twice.Groups[1].Value);
            }

            if (MissingProperties().Match(ex.Message) is { Success: true } missing)
            {
                throw new ApiInputException($"Missing required field(s): {missing.Groups[1].Value}.");
            }

            var at = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "" : $" at {ex.Path}";
            throw new ApiInputException($"The request body is not valid JSON of the expected shape{at}.", ex.Path);
        }
    }

    /// <summary>A path id: a positive integer, or null (answered as 404, exactly like an id that names nothing).</summary>
    public static long? Id(string text) =>
        text.Length is > 0 and <= 18 && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0 ? id : null;

    public static int Limit(string? text, int fallback = 50, int max = MaxLimit)
    {
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) || limit < 1 || limit > max)
        {
            throw new ApiInputException($"limit must be an integer from 1 to {max}.", "limit");
        }

        return limit;
    }

    public static TimeZoneInfo? Zone(string? tz)
    {
        if (string.IsNullOrEmpty(tz))
        {
            return null;
        }

        if (tz.Length > 64 || !TimeZoneInfo.TryFindSystemTimeZoneById(tz, out var zone) || !zone.HasIanaId)
        {
            throw new ApiInputException($"tz must be an IANA time zone such as Europe/Prague; '{Clip(tz)}' is not one.", "tz");
        }

        return zone;
    }

    /// <summary>
    /// An ISO 8601 time: with an offset or <c>Z</c> it is that instant; without one it is a local time of
    /// <paramref name="zone"/> (UTC when no <c>tz</c> is given); a date alone is its midnight.
    /// </summary>
    public static DateTimeOffset? Time(string? text, string name, TimeZoneInfo? zone)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        string[] withOffset = ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mmK"];
        string[] local = ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"];
        if ((text.EndsWith('Z') || text.LastIndexOfAny(['+', '-']) > 10)
            && DateTimeOffset.TryParseExact(text, withOffset, CultureInfo.InvariantCulture, DateTimeStyles.None, out var instant))
        {
            return instant;
        }

        if (DateTime.TryParseExact(text, local, CultureInfo.InvariantCulture, DateTimeStyles.None, out var wall))
        {
            var z = zone ?? TimeZoneInfo.Utc;
            var offset = z.GetUtcOffset(wall);
            var utcTicks = wall.Ticks - offset.Ticks;
            if (utcTicks < DateTime.MinValue.Ticks || utcTicks > DateTime.MaxValue.Ticks)
            {
                // 0001-01-01T00:00 east of UTC, or 9999-12-31T23:59 west of it: before or after any instant there is.
                throw new ApiInputException($"{name} must fall between 0001-01-01 and 9999-12-31 in UTC; '{Clip(text)}' in {z.Id} does not.", name);
            }

            return new DateTimeOffset(wall, offset);
        }

        throw new ApiInputException($"{name} must be an ISO 8601 time such as 2026-12-02T10:15:00Z; '{Clip(text)}' is not one.", name);
    }

    public static double? Seconds(string? text, string name)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        // "NaN" and "Infinity" parse whatever the number style: only a finite count of seconds is one.
        if (!double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds) || !double.IsFinite(seconds) || seconds is < 0 or > 10_000_000)
        {
            throw new ApiInputException($"{name} must be a number of seconds, 0 or more.", name);
        }

        return seconds;
    }

    /// <summary>Input echoed in an error is cut short and stripped of control characters.</summary>
    public static string Clip(string text)
    {
        var clean = new string(text.Take(40).Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return text.Length > 40 ? clean + "…" : clean;
    }
}

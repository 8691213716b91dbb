using System.Globalization;

namespace CallMedia.Calls;

/// <summary>
/// Times as operators and manifests write them: ISO 8601 only (a date, or a date and a time of day with <c>T</c> or a
/// space between), UTC unless an offset or <c>Z</c> is given. Nothing culture-dependent: <c>03/12/2026</c> is refused,
/// not read as 12 March or 3 December.
/// </summary>
public static class IsoTime
{
    private static readonly string[] WithOffset =
    [
        "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd HH:mmK", "yyyy-MM-dd HH:mm:ssK", "yyyy-MM-dd HH:mm:ss.FFFFFFFK",
    ];

    private static readonly string[] Utc =
    [
        "yyyy-MM-dd", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF",
        "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.FFFFFFF",
    ];

    /// <summary>What a message about a refused time shows as the expected form.</summary>
    public const string Example = "2026-11-16 or 2026-11-16T08:00:00Z (UTC unless it names an offset, e.g. +01:00)";

    public static bool TryParse(string? text, out DateTimeOffset value)
    {
        value = default;
        if (string.IsNullOrEmpty(text) || text.Length > 40)
        {
            return false;
        }

        if (DateTimeOffset.TryParseExact(text, Utc, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value))
        {
            return true;
        }

        return DateTimeOffset.TryParseExact(text, WithOffset, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out value);
    }
}

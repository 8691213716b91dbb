using System.ComponentModel.DataAnnotations;

namespace CallMedia.Tokens;

/// <summary><c>Tokens:*</c> — API.md §2 and §3.</summary>
public sealed class TokenOptions
{
    public const string Section = "Tokens";

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long after redemption the same session may still send Range requests; zero = strict single use.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan RangeLease { get; set; } = TimeSpan.FromMinutes(30);

    [Range(1, 10_000)]
    public int MaxIdsPerToken { get; set; } = 10_000;

    /// <summary>Tokens one session may be issued per minute; beyond it, 429.</summary>
    [Range(1, 10_000_000)]
    public int MaxPerSessionPerMinute { get; set; } = 3000;
}

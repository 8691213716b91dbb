using System.ComponentModel.DataAnnotations;

namespace CallMedia.Auth;

/// <summary><c>Sessions:*</c> — API.md §4.</summary>
public sealed class SessionOptions
{
    public const string Section = "Sessions";

    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromHours(12);
}

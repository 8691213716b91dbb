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

    /// <summary>
    /// A change to users, rights, scope or sessions made by another node or process (the CLI) takes effect on this
    /// node within this long (on PostgreSQL usually at once, by <c>NOTIFY</c>); one made through this node, at its
    /// next request. Zero reads the version on every request.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan ChangePollInterval { get; set; } = TimeSpan.FromMilliseconds(250);
}

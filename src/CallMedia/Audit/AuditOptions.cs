using System.ComponentModel.DataAnnotations;

namespace CallMedia.Audit;

/// <summary><c>Audit:*</c> — when records join the hash chain (API.md §7, docs/security.md).</summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    /// <summary>
    /// A transfer's record is chained once the transfer ends; one still open after this long is chained as it stands
    /// (its node died mid-transfer, so it keeps the outcome <c>started</c>). Transfers running longer than this get a
    /// second, closing record when they end.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan ChainOpenAfter { get; set; } = TimeSpan.FromHours(6);

    /// <summary>How often each node's chainer looks for records to chain.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan ChainInterval { get; set; } = TimeSpan.FromSeconds(1);
}

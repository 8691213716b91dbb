using System.ComponentModel.DataAnnotations;

namespace CallMedia.Retention;

/// <summary><c>Retention:*</c> — the purge that deletes recordings past their retention policy.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Retention";

    /// <summary>How often <c>serve</c> runs the purge; 0 turns the scheduled purge off (<c>callmedia retention run</c> still works).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a node owns the purge without renewing its lease; after that another node may run it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Couples looked at, and purged in one transaction, at a time.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 200;

    /// <summary>A pause after each file deleted, to spare a busy storage (0: none).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan DeletePause { get; set; } = TimeSpan.Zero;
}

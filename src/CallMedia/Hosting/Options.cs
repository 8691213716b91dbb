using System.ComponentModel.DataAnnotations;

namespace CallMedia.Hosting;

/// <summary><c>Sessions:*</c> — API.md §4.</summary>
public sealed class SessionSettings
{
    public const string Section = "Sessions";

    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromHours(12);
}

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

/// <summary><c>Media:*</c> — ffmpeg and the transcode cache.</summary>
public sealed class MediaOptions
{
    public const string Section = "Media";

    [Required]
    public string Ffmpeg { get; set; } = "ffmpeg";

    [Required]
    public string Ffprobe { get; set; } = "ffprobe";

    [Range(1, 256)]
    public int MaxConcurrentTranscodes { get; set; } = Environment.ProcessorCount;

    /// <summary>How long a node owns a running prepare job without renewing it; after that another node takes it over.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan JobLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Prepare jobs one node runs at once.</summary>
    [Range(1, 64)]
    public int MaxConcurrentPrepares { get; set; } = 1;

    /// <summary>This node's name in job rows; unique per process.</summary>
    public string NodeName { get; set; } = $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>Bit rate of transcoded MP3 (constant), in kbit/s.</summary>
    [Range(8, 320)]
    public int Mp3Kbps { get; set; } = 64;
}

/// <summary><c>Import:*</c> — <c>callmedia import</c>.</summary>
public sealed class ImportSettings
{
    public const string Section = "Import";

    /// <summary>Folders a manifest may name files in, besides its own folder; the only ones for <c>--link</c>.</summary>
    public IReadOnlyList<string> AllowedRoots { get; set; } = [];

    /// <summary>Couples stored per transaction: an interrupted import loses at most one batch, which a re-run redoes.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 256;
}

/// <summary><c>Login:*</c> — throttling of failed sign-ins (API.md §5).</summary>
public sealed class LoginSettings
{
    public const string Section = "Login";

    /// <summary>Failures of one name from one client address before each further attempt of that pair must wait.</summary>
    [Range(1, 1_000_000)]
    public int FreeFailuresPerNameAndAddress { get; set; } = 5;

    /// <summary>Failures of one name from all addresses before addresses that failed for it must wait too.</summary>
    [Range(1, 1_000_000)]
    public int FreeFailuresPerName { get; set; } = 100;

    /// <summary>Failures from one client address before it must wait (higher: offices share addresses).</summary>
    [Range(1, 1_000_000)]
    public int FreeFailuresPerAddress { get; set; } = 50;

    /// <summary>The first wait; it doubles with every further failure.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait, so an attacker can slow a user's sign-in but never lock it out for good.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Failures older than this (since the last one) are forgotten.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan ForgetAfter { get; set; } = TimeSpan.FromMinutes(15);
}

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

    /// <summary>Bit rate of transcoded MP3 (constant), in kbit/s.</summary>
    [Range(8, 320)]
    public int Mp3Kbps { get; set; } = 64;
}

/// <summary><c>Import:*</c> — <c>callmedia import</c>.</summary>
public sealed class ImportSettings
{
    public const string Section = "Import";

    /// <summary>When set, every file a manifest names must lie under one of these folders.</summary>
    public IReadOnlyList<string> AllowedRoots { get; set; } = [];

    /// <summary>Couples stored per transaction: an interrupted import loses at most one batch, which a re-run redoes.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 256;
}

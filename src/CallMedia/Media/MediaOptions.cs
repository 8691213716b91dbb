using System.ComponentModel.DataAnnotations;

namespace CallMedia.Media;

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

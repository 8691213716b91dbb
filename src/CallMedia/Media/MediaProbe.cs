using System.Text.RegularExpressions;
using CallMedia.Import;

namespace CallMedia.Media;

/// <summary>What ffprobe found in a file: whether it is of its declared format, and the format it detected.</summary>
public sealed record FormatCheck(bool Matches, string? Found);

/// <summary>
/// Checks with ffprobe that a file's real container format is its declared one, reading only its header
/// (<c>-probesize 64 KiB</c>). Detection stops before any demuxer runs (<c>-format_whitelist</c>): a playlist or
/// concat script is named, never followed.
/// </summary>
public sealed partial class MediaProbe(Ffmpeg ffmpeg)
{
    /// <summary>The demuxers ffprobe may open here: plain containers that never open other files.</summary>
    private const string SafeDemuxers = "mp3,wav,flac,aac,mov,ogg,matroska";

    /// <summary>
    /// Matches when ffprobe detects the declared format, or detects no format at all (data ffmpeg cannot take for
    /// anything else; reading it as the declared format simply fails later).
    /// </summary>
    public async Task<FormatCheck> ProbeFormatAsync(string path, string declaredFormat, CancellationToken ct)
    {
        if (MediaFormats.Demuxer(declaredFormat) is null)
        {
            return new FormatCheck(false, "a format that is not read here");
        }

        var (exit, output, errors) = await ffmpeg.ProbeRawAsync(
            ["-v", "debug", "-protocol_whitelist", "file", "-format_whitelist", SafeDemuxers, "-probesize", "65536",
             "-show_entries", "format=format_name", "-of", "default=noprint_wrappers=1:nokey=1", "file:" + path],
            ct);
        var found = exit == 0 && output.Trim() is { Length: > 0 } name
            ? name
            : errors.Select(l => Detected().Match(l)).FirstOrDefault(m => m.Success)?.Groups["name"].Value;
        return new FormatCheck(found is null || MediaFormats.Matches(found, declaredFormat), found);
    }

    /// <summary>Probes the files of manifest rows (a few at a time); one error per row whose file is not of its declared format.</summary>
    public async Task<List<ManifestError>> CheckRowsAsync(IEnumerable<ManifestRow> rows, CancellationToken ct)
    {
        var errors = new List<ManifestError>();
        await Parallel.ForEachAsync(rows, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct }, async (row, token) =>
        {
            var format = ManifestImporter.FormatOf(row);
            var check = await ProbeFormatAsync(row.Path, format, token);
            if (!check.Matches)
            {
                lock (errors)
                {
                    errors.Add(new ManifestError(row.Line, row.Sid, $"{row.Path} is not a {format} file (ffprobe found {check.Found})"));
                }
            }
        });
        return errors;
    }

    // ffprobe's debug lines naming the format it detected, also when the whitelist then refuses to open it.
    [GeneratedRegex(@"Format (?<name>[a-z0-9_,]+) (probed with size|detected only with low score)")]
    private static partial Regex Detected();
}

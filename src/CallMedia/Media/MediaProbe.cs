using System.Text.RegularExpressions;

namespace CallMedia.Media;

/// <summary>What ffprobe found in a file: whether it is of its declared format, and the format it detected.</summary>
public sealed record FormatCheck(bool Matches, string? Found);

/// <summary>
/// Checks that a file's real container format is its declared one. The first 64 bytes settle most files without a
/// process; the rest (text, or another container's signature) go to ffprobe, which reads only the header
/// (<c>-probesize 64 KiB</c>) and stops before any demuxer runs (<c>-format_whitelist</c>): a playlist or concat
/// script is named, never followed.
/// </summary>
public sealed partial class MediaProbe(Ffmpeg ffmpeg)
{
    /// <summary>The demuxers ffprobe may open here: plain containers that never open other files.</summary>
    private const string SafeDemuxers = "mp3,wav,flac,aac,mov,ogg,matroska";

    /// <summary>
    /// Matches when the file starts with the declared container's signature, when it is binary data with no known
    /// signature (data ffmpeg cannot take for anything else; reading it as the declared format fails later if it is
    /// not), or when ffprobe detects the declared format. An empty file, or text (an error page saved under a media
    /// name, a playlist) in which ffprobe finds no media, does not match.
    /// </summary>
    public async Task<FormatCheck> ProbeFormatAsync(string path, string declaredFormat, CancellationToken ct)
    {
        if (MediaFormats.Demuxer(declaredFormat) is not { } declared)
        {
            return new FormatCheck(false, "a format that is not read here");
        }

        // Header first, without a process: the declared container's signature is a match, and binary data with no
        // known signature is nothing ffmpeg would take for another container. Text (where playlists, concat
        // scripts and manifests live) or another container's signature goes to ffprobe.
        var header = new byte[64];
        int length;
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, useAsync: true))
        {
            length = await file.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, ct);
        }

        if (length == 0)
        {
            return new FormatCheck(false, "an empty file");
        }

        var signature = Signature(header.AsSpan(0, length));
        if (signature == declared || (signature is null && IsBinary(header.AsSpan(0, length))))
        {
            return new FormatCheck(true, signature);
        }

        var (exit, output, errors) = await ffmpeg.ProbeRawAsync(
            ["-v", "debug", "-protocol_whitelist", "file", "-format_whitelist", SafeDemuxers, "-probesize", "65536",
             "-show_entries", "format=format_name", "-of", "default=noprint_wrappers=1:nokey=1", "file:" + path],
            ct);
        if (exit == 0 && output.Trim() is { Length: > 0 } name)
        {
            return new FormatCheck(MediaFormats.Matches(name, declaredFormat), name);
        }

        // Not opened: a container not read here (named, e.g. hls), a guess ffprobe could not read past (text taken
        // for MP3 with the lowest score), or nothing at all.
        var detected = errors.Select(l => Detected().Match(l)).FirstOrDefault(m => m.Success)?.Groups["name"].Value;
        return new FormatCheck(false, detected is null ? "no media format" : MediaFormats.Matches(detected, declaredFormat) ? $"no readable {declaredFormat}" : detected);
    }

    /// <summary>The demuxer whose signature starts the header, when it is one of the containers read here.</summary>
    public static string? Signature(ReadOnlySpan<byte> header) => header switch
    {
        [(byte)'R', (byte)'I', (byte)'F', (byte)'F', _, _, _, _, (byte)'W', (byte)'A', (byte)'V', (byte)'E', ..] => "wav",
        [0x1A, 0x45, 0xDF, 0xA3, ..] => "matroska",
        [(byte)'O', (byte)'g', (byte)'g', (byte)'S', ..] => "ogg",
        [(byte)'f', (byte)'L', (byte)'a', (byte)'C', ..] => "flac",
        [_, _, _, _, (byte)'f', (byte)'t', (byte)'y', (byte)'p', ..] => "mp4",
        [(byte)'I', (byte)'D', (byte)'3', ..] => "mp3",
        [0xFF, var b, ..] when (b & 0xE6) == 0xE2 => "mp3",
        _ => null,
    };

    /// <summary>A control character other than tab, line feed, carriage return and form feed: not a text file.</summary>
    private static bool IsBinary(ReadOnlySpan<byte> header)
    {
        foreach (var b in header)
        {
            if (b is < 0x09 or (> 0x0D and < 0x20) or 0x7F)
            {
                return true;
            }
        }

        return false;
    }

    // ffprobe's debug lines naming the format it detected, also when the whitelist then refuses to open it.
    [GeneratedRegex(@"Format (?<name>[a-z0-9_,]+) (probed with size|detected only with low score)")]
    private static partial Regex Detected();
}

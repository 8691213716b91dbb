using System.Globalization;
using System.Text;
using CallMedia.Calls;
using CallMedia.Storage;

namespace CallMedia.Media;

/// <summary>
/// Mixes a couple's .recd screen capture with its audio into an H.264 + AAC MP4 with the moov atom first
/// (API.md §6). Capture and audio are placed on the call's timeline by their files' start times; gaps are black or
/// silent. The output is written to a temp file and checked with ffprobe before anyone may rename it into place.
/// </summary>
public sealed class VideoMixer(Ffmpeg ffmpeg, IMediaStorage storage)
{
    /// <summary>The span of the mixed video on the call's timeline.</summary>
    public sealed record Timeline(long StartAt, long StopAt);

    public static Timeline Span(MediaFile capture, IReadOnlyList<MediaFile> audio)
    {
        var files = audio.Append(capture).ToList();
        return new Timeline(files.Min(f => f.StartAt), files.Max(f => f.StopAt));
    }

    /// <summary>Mixes into <paramref name="output"/>, reporting progress from 0 to 100.</summary>
    public async Task MixAsync(MediaFile capture, IReadOnlyList<MediaFile> audio, string output, string logPath, Action<int> progress, CancellationToken ct)
    {
        // Encrypted inputs are read through private plaintext copies, removed when the mix ends.
        await using var inputs = await LocalInputs.OpenAsync(storage, [capture, .. audio], ct);
        var capturePath = inputs.Paths[0];
        var rate = await FrameRateAsync(capturePath, capture.Format, ct);
        var span = Span(capture, audio);
        var total = (span.StopAt - span.StartAt) / 1000.0;
        var args = new List<string>(MediaFormats.Input(capturePath, capture.Format));
        for (var i = 0; i < audio.Count; i++)
        {
            args.AddRange(MediaFormats.Input(inputs.Paths[i + 1], audio[i].Format));
        }

        if (audio.Count == 0)
        {
            args.AddRange(["-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono"]);
        }

        var graph = new StringBuilder();
        var lead = Seconds(capture.StartAt - span.StartAt);
        graph.Append(CultureInfo.InvariantCulture, $"[0:v]scale=trunc(iw/2)*2:trunc(ih/2)*2,setsar=1,fps={rate},tpad=start_duration={lead}:start_mode=add:color=black:stop_duration={Seconds(span.StopAt - span.StartAt)}:stop_mode=add:color=black,format=yuv420p[v];");
        if (audio.Count == 0)
        {
            graph.Append("[1:a]anull[a]");
        }
        else
        {
            for (var i = 0; i < audio.Count; i++)
            {
                graph.Append(CultureInfo.InvariantCulture, $"[{i + 1}:a]aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=mono,adelay={audio[i].StartAt - span.StartAt},apad[a{i}];");
            }

            graph.Append(audio.Count == 1
                ? "[a0]anull[a]"
                : string.Concat(Enumerable.Range(0, audio.Count).Select(i => $"[a{i}]")) + $"amerge=inputs={audio.Count}[a]");
        }

        args.AddRange(
        [
            "-filter_complex", graph.ToString(), "-map", "[v]", "-map", "[a]", "-t", total.ToString("0.###", CultureInfo.InvariantCulture),
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", "-f", "mp4", "-progress", "pipe:1", "-nostats", output,
        ]);

        await ffmpeg.RunAsync(
            args,
            logPath,
            line =>
            {
                if (line.StartsWith("out_time_us=", StringComparison.Ordinal) && long.TryParse(line.AsSpan(12), NumberStyles.Integer, CultureInfo.InvariantCulture, out var us) && total > 0)
                {
                    progress((int)Math.Clamp(us / 1e6 / total * 100, 0, 99));
                }
            },
            ct);
        await VerifyAsync(output, ct);
    }

    private async Task<string> FrameRateAsync(string capture, string format, CancellationToken ct)
    {
        string probe;
        try
        {
            probe = await ffmpeg.ProbeAsync(["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_type,r_frame_rate", "-of", "default=noprint_wrappers=1", .. ProbeInput(capture, format)], ct);
        }
        catch (FfmpegException ex)
        {
            throw new FfmpegException($"the screen capture cannot be read: {ex.Message}");
        }

        var rate = probe.Split('\n').FirstOrDefault(l => l.StartsWith("r_frame_rate=", StringComparison.Ordinal))?[13..].Trim();
        if (!probe.Contains("codec_type=video", StringComparison.Ordinal) || string.IsNullOrEmpty(rate) || rate == "0/0")
        {
            throw new FfmpegException("the screen capture has no readable video track");
        }

        return rate;
    }

    private async Task VerifyAsync(string output, CancellationToken ct)
    {
        var probe = await ffmpeg.ProbeAsync(["-v", "error", "-show_entries", "stream=codec_name", "-of", "default=noprint_wrappers=1", .. ProbeInput(output, "mp4")], ct);
        if (!probe.Contains("codec_name=h264", StringComparison.Ordinal) || !probe.Contains("codec_name=aac", StringComparison.Ordinal))
        {
            throw new FfmpegException($"the mixed video lacks H.264 video or AAC audio ({probe.Trim().Replace('\n', ' ')})");
        }
    }

    /// <summary>ffprobe's input: the declared format, local files only (as <see cref="MediaFormats.Input"/> for ffmpeg).</summary>
    private static string[] ProbeInput(string path, string format) => MediaFormats.Input(path, format) is [.. var options, "-i", var file] ? [.. options, file] : [];

    private static string Seconds(long ms) => (ms / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);
}

using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CallMedia.Calls;
using CallMedia.Media;
using CallMedia.Storage;

namespace CallMedia.Api;

/// <summary>
/// Waveform peaks of a call's audio, computed once with ffmpeg and kept as JSON beside the transcode cache (keyed
/// by the sources' CRCs, sizes and times, like the MP3 cache). Two channels when the call has two directions (two
/// audio legs, or one stereo file), else one; legs are placed on the call's timeline by their start times.
/// </summary>
public sealed class PeaksCache(Ffmpeg ffmpeg, MediaRoot media)
{
    public const int PerSecond = 50;
    private const int SampleRate = 8000;
    private const int Window = SampleRate / PerSecond;

    /// <summary>The cached JSON file and its ETag; a null path when a source file is missing.</summary>
    public async Task<(string? Path, string ETag)> GetAsync(Couple couple, IReadOnlyList<MediaFile> audio, CancellationToken ct)
    {
        var identity = new StringBuilder("peaks1|").Append(couple.StartAt).Append('|').Append(couple.StopAt);
        foreach (var f in audio)
        {
            identity.Append('|').Append(f.Crc32).Append(':').Append(f.Size).Append(':').Append(f.StartAt);
        }

        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(identity.ToString())))[..32].ToLowerInvariant();
        var etag = $"\"pk-{key}\"";
        var path = Path.Combine(media.CacheDir, "peaks", key + ".json");
        if (File.Exists(path))
        {
            return (path, etag);
        }

        var sources = new List<(string Path, string Format)>();
        foreach (var f in audio.OrderBy(f => f.StartAt).Take(2))
        {
            string full;
            try
            {
                full = media.Resolve(f.Path);
            }
            catch (InvalidDataException)
            {
                return (null, etag);
            }

            if (!File.Exists(full))
            {
                return (null, etag);
            }

            sources.Add((full, f.Format));
        }

        var total = (int)Math.Ceiling(Math.Max(0, couple.StopAt - couple.StartAt) / 1000.0 * PerSecond);
        List<double[]> channels;
        if (sources.Count == 2)
        {
            var legs = audio.OrderBy(f => f.StartAt).Take(2).ToList();
            channels = [];
            for (var i = 0; i < 2; i++)
            {
                var mono = (await ReadPeaksAsync(sources[i].Path, sources[i].Format, 1, ct))[0];
                channels.Add(Place(mono, (int)((legs[i].StartAt - couple.StartAt) * PerSecond / 1000), total));
            }
        }
        else
        {
            var count = await ChannelsAsync(sources[0].Path, sources[0].Format, ct) >= 2 ? 2 : 1;
            var offset = (int)((audio[0].StartAt - couple.StartAt) * PerSecond / 1000);
            channels = (await ReadPeaksAsync(sources[0].Path, sources[0].Format, count, ct)).Select(c => Place(c, offset, total)).ToList();
        }

        var json = JsonSerializer.SerializeToUtf8Bytes(new Peaks
        {
            DurationSeconds = Math.Max(0, couple.StopAt - couple.StartAt) / 1000.0,
            PeaksPerSecond = PerSecond,
            Channels = channels,
        }, JsonSerializerOptions.Web);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        await File.WriteAllBytesAsync(temp, json, ct);
        File.Move(temp, path, overwrite: true);
        return (path, etag);
    }

    private async Task<int> ChannelsAsync(string source, string format, CancellationToken ct)
    {
        var input = MediaFormats.Input(source, format);
        var text = await ffmpeg.ProbeAsync(["-v", "error", .. input[..^2], "-select_streams", "a:0", "-show_entries", "stream=channels", "-of", "csv=p=0", input[^1]], ct);
        return int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 1;
    }

    /// <summary>Decodes to 16-bit PCM at 8 kHz and keeps the largest magnitude of each 1/50 s, per channel, as 0..1.</summary>
    private async Task<List<double[]>> ReadPeaksAsync(string source, string format, int channelCount, CancellationToken ct)
    {
        await using var run = ffmpeg.Start(["-v", "error", .. MediaFormats.Input(source, format), "-vn", "-ac", channelCount.ToString(CultureInfo.InvariantCulture), "-ar", SampleRate.ToString(CultureInfo.InvariantCulture), "-f", "s16le", "-acodec", "pcm_s16le", "pipe:1"], null, ct);
        var output = run.Output;
        var peaks = Enumerable.Range(0, channelCount).Select(_ => new List<double>()).ToList();
        var current = new int[channelCount];
        var frameBytes = 2 * channelCount;
        var buffer = new byte[frameBytes * Window * 64];
        var carry = 0;
        long frames = 0;
        await using (output)
        {
            int read;
            while ((read = await output.ReadAsync(buffer.AsMemory(carry), ct)) > 0)
            {
                var available = carry + read;
                var whole = available / frameBytes * frameBytes;
                for (var at = 0; at < whole; at += frameBytes)
                {
                    for (var c = 0; c < channelCount; c++)
                    {
                        current[c] = Math.Max(current[c], Math.Abs((int)BinaryPrimitives.ReadInt16LittleEndian(buffer.AsSpan(at + (2 * c)))));
                    }

                    if (++frames % Window == 0)
                    {
                        Flush(peaks, current);
                    }
                }

                carry = available - whole;
                buffer.AsSpan(whole, carry).CopyTo(buffer);
            }
        }

        await run.Exited;
        if (frames % Window != 0)
        {
            Flush(peaks, current);
        }

        return peaks.Select(p => p.ToArray()).ToList();
    }

    private static void Flush(List<List<double>> peaks, int[] current)
    {
        for (var c = 0; c < current.Length; c++)
        {
            peaks[c].Add(Math.Round(Math.Min(1.0, current[c] / 32768.0), 3));
            current[c] = 0;
        }
    }

    /// <summary>Puts a leg's peaks at its offset on the call's timeline, silence elsewhere.</summary>
    private static double[] Place(double[] leg, int offset, int total)
    {
        var length = Math.Max(total, Math.Max(0, offset) + leg.Length);
        var placed = new double[length];
        for (var i = 0; i < leg.Length; i++)
        {
            var at = offset + i;
            if (at >= 0 && at < length)
            {
                placed[at] = leg[i];
            }
        }

        return placed;
    }
}

using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CallMedia.Calls;
using CallMedia.Hosting;
using CallMedia.Storage;

namespace CallMedia.Media;

/// <summary>
/// The shape of a call for the player's waveform: the largest absolute sample in every 1/50 s, per direction.
/// ffmpeg decodes each source once (a call's two one-direction legs each into their own lane, placed by start
/// time; one stereo file into two lanes; anything else into one), and the result is cached as gzipped JSON beside
/// the transcodes, keyed by the sources' content, so a two-hour call shows its shape without being downloaded.
/// </summary>
public sealed class WaveformPeaks(Ffmpeg ffmpeg, MediaRoot media, IMediaStorage storage, TimeProvider clock, ILogger<WaveformPeaks> logger)
{
    public const int PeaksPerSecond = 50;

    /// <summary>Decoding rate: enough for the envelope of telephone speech, small enough to decode hours quickly.</summary>
    private const int SampleRate = 8000;
    private const int SamplesPerPeak = SampleRate / PeaksPerSecond;

    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _running = new(StringComparer.Ordinal);

    /// <summary>The files whose sound the waveform shows: the audio files, else the mixed video's sound track.</summary>
    public static IReadOnlyList<MediaFile> Sources(IEnumerable<MediaFile> files)
    {
        var all = files.ToList();
        var audio = all.Where(f => f.Type == MediaType.Audio).ToList();
        return audio.Count > 0 ? audio : all.Where(f => f.Type == MediaType.Video).Take(1).ToList();
    }

    /// <summary>The content key: the same sources (by CRC, size and place on the timeline) always give the same peaks.</summary>
    public static string Key(IReadOnlyList<MediaFile> sources)
    {
        var text = new StringBuilder("peaks-v1|").Append(PeaksPerSecond).Append('|').Append(SampleRate);
        foreach (var s in sources)
        {
            text.Append(CultureInfo.InvariantCulture, $"|{s.Crc32:x8}:{s.Size}:{s.StartAt}:{s.StopAt}");
        }

        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..32].ToLowerInvariant();
    }

    /// <summary>
    /// The HTTP answer for these sources: 304 when the browser has this content, else the JSON (gzipped when the
    /// client accepts it, as it is stored). A source that cannot be decoded (gone from storage, damaged) is a 404.
    /// </summary>
    public async Task<IResult> ResultAsync(HttpContext context, IReadOnlyList<MediaFile> sources)
    {
        var etag = "\"" + Key(sources) + "\"";
        var response = context.Response;
        response.Headers.CacheControl = "private, no-cache";
        response.Headers.Vary = "Accept-Encoding";
        response.Headers.ETag = etag;
        if (context.Request.Headers.IfNoneMatch.ToString().Split(',').Any(t => t.Trim() == etag))
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        string path;
        try
        {
            path = await GetAsync(sources, context.RequestAborted);
        }
        catch (Exception ex) when (ex is FfmpegException or InvalidDataException or IOException)
        {
            response.Headers.Remove("ETag");
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: "The call's sound is missing from storage or cannot be decoded.");
        }

        if (AcceptEncoding.Quality(context.Request.Headers.AcceptEncoding.ToString(), "gzip") > 0)
        {
            response.Headers.ContentEncoding = "gzip";
            return Results.File(path, "application/json");
        }

        return Results.Stream(new GZipStream(File.OpenRead(path), CompressionMode.Decompress), "application/json");
    }

    /// <summary>Where the peaks of these sources are cached (whether or not they exist); the retention purge deletes them with the sources.</summary>
    public string CachePathFor(IReadOnlyList<MediaFile> sources) => Path.Combine(media.CacheDir, "peaks", Key(sources) + ".json.gz");

    /// <summary>The cached gzipped JSON file, computed first if needed (concurrent callers share one computation).</summary>
    public async Task<string> GetAsync(IReadOnlyList<MediaFile> sources, CancellationToken ct)
    {
        var key = Key(sources);
        var path = CachePathFor(sources);
        if (File.Exists(path))
        {
            return path;
        }

        var work = _running.GetOrAdd(key, k => new Lazy<Task<string>>(() => ComputeAsync(k, sources, path)));
        try
        {
            // The computation is not tied to this request: a reader that leaves does not waste the decode for the next.
            return await work.Value.WaitAsync(ct);
        }
        finally
        {
            if (work.Value.IsCompleted)
            {
                _running.TryRemove(new KeyValuePair<string, Lazy<Task<string>>>(key, work));
            }
        }
    }

    private async Task<string> ComputeAsync(string key, IReadOnlyList<MediaFile> sources, string path)
    {
        await Task.Yield();
        var started = clock.GetTimestamp();
        var origin = sources.Min(s => s.StartAt);
        var lanes = new List<float[]>();
        if (sources.Count == 1)
        {
            var (left, right) = await DecodeAsync(sources[0], channels: 2);
            lanes.Add(left);
            if (!left.AsSpan().SequenceEqual(right))
            {
                lanes.Add(right);
            }
        }
        else
        {
            // Each leg in its own lane, delayed to its start on the call's timeline (the first two legs: caller, callee).
            foreach (var leg in sources.Take(2))
            {
                var (peaks, _) = await DecodeAsync(leg, channels: 1);
                var offset = (int)((leg.StartAt - origin) * PeaksPerSecond / 1000);
                var lane = new float[offset + peaks.Length];
                peaks.CopyTo(lane, offset);
                lanes.Add(lane);
            }
        }

        var length = lanes.Max(l => l.Length);
        var temp = media.NewTempPath("json.gz");
        try
        {
            await using (var file = File.Create(temp))
            await using (var gzip = new GZipStream(file, CompressionLevel.Optimal))
            await using (var json = new Utf8JsonWriter(gzip))
            {
                json.WriteStartObject();
                json.WriteNumber("durationSeconds", Math.Round((double)length / PeaksPerSecond, 2));
                json.WriteNumber("peaksPerSecond", PeaksPerSecond);
                json.WriteStartArray("channels");
                foreach (var lane in lanes)
                {
                    json.WriteStartArray();
                    for (var i = 0; i < length; i++)
                    {
                        // Two decimals are a hundred levels: more than a waveform a few hundred pixels high can show.
                        json.WriteNumberValue(i < lane.Length ? Math.Round(lane[i], 2) : 0);
                    }

                    json.WriteEndArray();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.Move(temp, path, overwrite: true);
            LogComputed(logger, key, length, clock.GetElapsedTime(started).TotalMilliseconds);
            return path;
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Decodes one file to 16-bit samples at 8 kHz and keeps the largest magnitude of every 1/50 s per channel.</summary>
    private async Task<(float[] First, float[] Second)> DecodeAsync(MediaFile file, int channels)
    {
        await using var input = await LocalInputs.OpenAsync(storage, [file], CancellationToken.None);
        string[] args =
        [
            .. MediaFormats.Input(input.Paths[0], file.Format),
            "-map", "0:a:0", "-vn", "-ac", channels.ToString(CultureInfo.InvariantCulture), "-ar", SampleRate.ToString(CultureInfo.InvariantCulture),
            "-f", "s16le", "-c:a", "pcm_s16le", "pipe:1",
        ];

        // Disposing the run kills ffmpeg if reading failed half way; its own failure surfaces from Exited.
        await using var run = ffmpeg.Start(args, null, CancellationToken.None);
        return await ReadPeaksAsync(run.Output, channels, run.Exited);
    }

    private static async Task<(float[] First, float[] Second)> ReadPeaksAsync(Stream output, int channels, Task exited)
    {
        var first = new List<float>();
        var second = new List<float>();
        var frame = 2 * channels;
        var buffer = new byte[64 * 1024];
        var filled = 0;
        int counted = 0, max0 = 0, max1 = 0;
        int read;
        while ((read = await output.ReadAsync(buffer.AsMemory(filled))) > 0)
        {
            filled += read;
            var whole = filled - (filled % frame);
            for (var at = 0; at < whole; at += frame)
            {
                max0 = Math.Max(max0, Math.Abs((int)BinaryPrimitives.ReadInt16LittleEndian(buffer.AsSpan(at))));
                if (channels == 2)
                {
                    max1 = Math.Max(max1, Math.Abs((int)BinaryPrimitives.ReadInt16LittleEndian(buffer.AsSpan(at + 2))));
                }

                if (++counted == SamplesPerPeak)
                {
                    first.Add(Math.Min(1f, max0 / 32767f));
                    second.Add(Math.Min(1f, max1 / 32767f));
                    counted = max0 = max1 = 0;
                }
            }

            buffer.AsSpan(whole, filled - whole).CopyTo(buffer);
            filled -= whole;
        }

        if (counted > 0)
        {
            first.Add(Math.Min(1f, max0 / 32767f));
            second.Add(Math.Min(1f, max1 / 32767f));
        }

        await exited;
        return ([.. first], [.. second]);
    }

    private static void LogComputed(ILogger logger, string key, int peaks, double milliseconds) =>
        logger.LogInformation("Waveform peaks {Key}: {Peaks} per channel in {Milliseconds:0} ms", key, peaks, milliseconds);
}

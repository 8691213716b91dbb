using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CallMedia.Calls;
using CallMedia.Hosting;
using CallMedia.Storage;
using Microsoft.Extensions.Options;

namespace CallMedia.Media;

/// <summary>All transcoding slots are taken; the client should retry later (503 + Retry-After).</summary>
public sealed class TranscodeBusyException() : Exception("all transcoding slots are busy");

/// <summary>
/// MP3 renditions of recordings that are not plain MP3 (WAV, or two one-direction legs merged into stereo),
/// cached by content: the key covers the sources' CRCs, sizes and start times and the encoder settings, so a
/// cached file is reused until its sources change. At most <see cref="MediaOptions.MaxConcurrentTranscodes"/>
/// run at once; requests for a rendition already being made wait for that one instead of starting another.
/// </summary>
public sealed class TranscodeCache(Ffmpeg ffmpeg, MediaRoot media, IOptions<MediaOptions> options, IHostApplicationLifetime lifetime) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _running = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _slots = new(options.Value.MaxConcurrentTranscodes);

    public void Dispose() => _slots.Dispose();

    /// <summary>Path of the cached MP3 for <paramref name="sources"/> (audio files of one couple, caller first).</summary>
    public async Task<string> GetMp3Async(IReadOnlyList<MediaFile> sources, CancellationToken ct)
    {
        var key = Key(sources);
        var path = Path.Combine(media.CacheDir, "mp3", key + ".mp3");
        if (File.Exists(path))
        {
            return path;
        }

        var job = _running.GetOrAdd(key, _ => new Lazy<Task<string>>(() => MakeAsync(sources, path)));
        try
        {
            return await job.Value.WaitAsync(ct);
        }
        finally
        {
            if (job.Value.IsCompleted)
            {
                _running.TryRemove(new KeyValuePair<string, Lazy<Task<string>>>(key, job));
            }
        }
    }

    private async Task<string> MakeAsync(IReadOnlyList<MediaFile> sources, string path)
    {
        if (!await _slots.WaitAsync(0))
        {
            throw new TranscodeBusyException();
        }

        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var temp = media.NewTempPath("mp3");
            try
            {
                // Shared by every listener waiting for it, so only server shutdown stops it.
                await ffmpeg.RunAsync(Arguments(sources, temp), ct: lifetime.ApplicationStopping);
                File.Move(temp, path, overwrite: true);
                return path;
            }
            finally
            {
                File.Delete(temp);
            }
        }
        finally
        {
            _slots.Release();
        }
    }

    private List<string> Arguments(IReadOnlyList<MediaFile> sources, string output)
    {
        var kbps = options.Value.Mp3Kbps.ToString(CultureInfo.InvariantCulture) + "k";
        var args = new List<string>();
        foreach (var s in sources)
        {
            args.AddRange(["-i", media.Resolve(s.Path)]);
        }

        if (sources.Count == 1)
        {
            args.AddRange(["-vn", "-c:a", "libmp3lame", "-b:a", kbps, "-f", "mp3", output]);
            return args;
        }

        // One leg per channel (caller left, callee right), each delayed to its start on the call's timeline and
        // padded, then cut to the span of the whole call.
        var origin = sources.Min(s => s.StartAt);
        var end = sources.Max(s => s.StopAt);
        var graph = new StringBuilder();
        var labels = new StringBuilder();
        for (var i = 0; i < sources.Count; i++)
        {
            var delay = sources[i].StartAt - origin;
            graph.Append(CultureInfo.InvariantCulture, $"[{i}:a]aformat=sample_fmts=fltp:sample_rates=16000:channel_layouts=mono,adelay={delay},apad[a{i}];");
            labels.Append(CultureInfo.InvariantCulture, $"[a{i}]");
        }

        graph.Append(CultureInfo.InvariantCulture, $"{labels}amerge=inputs={sources.Count}[out]");
        var seconds = ((end - origin) / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);
        args.AddRange(["-filter_complex", graph.ToString(), "-map", "[out]", "-t", seconds, "-ac", "2", "-c:a", "libmp3lame", "-b:a", kbps, "-f", "mp3", output]);
        return args;
    }

    private string Key(IReadOnlyList<MediaFile> sources)
    {
        var text = new StringBuilder("mp3-v1|").Append(options.Value.Mp3Kbps);
        foreach (var s in sources)
        {
            text.Append(CultureInfo.InvariantCulture, $"|{s.Crc32:x8}:{s.Size}:{s.StartAt}:{s.StopAt}");
        }

        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..32].ToLowerInvariant();
    }
}

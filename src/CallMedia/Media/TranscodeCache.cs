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
/// MP3 renditions of recordings that are not plain MP3 (WAV, or two one-direction legs merged into stereo).
/// The first request streams ffmpeg's output as it is made while the same encode fills the cache (ffmpeg's tee
/// muxer writes both, so the cached file gets its LAME/Xing header); later requests get the cached file with
/// ranges. Cached by content: the key covers the sources' CRCs, sizes and times and the encoder settings. At most
/// <see cref="MediaOptions.MaxConcurrentTranscodes"/> run at once.
/// </summary>
public sealed class TranscodeCache(Ffmpeg ffmpeg, MediaRoot media, IMediaStorage storage, IOptions<MediaOptions> options, IHostApplicationLifetime lifetime, TimeProvider clock, CallMediaMetrics metrics, ILogger<TranscodeCache> logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, LiveTranscode> _running = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _slots = new(options.Value.MaxConcurrentTranscodes);
    private readonly Lock _gate = new();

    public void Dispose() => _slots.Dispose();

    /// <summary>The cached file, or a live transcode joined as a listener (dispose the handle to leave).</summary>
    public (string? CachedPath, LiveTranscode? Live, IDisposable? Listener) Get(IReadOnlyList<MediaFile> sources, AudioRendition? rendition = null)
    {
        rendition ??= AudioRendition.Default;
        var key = Key(sources, rendition);
        var path = CachePath(key, rendition.Format);
        lock (_gate)
        {
            if (storage.Exists(path))
            {
                return (path, null, null);
            }

            if (!_running.TryGetValue(key, out var live))
            {
                if (!_slots.Wait(0))
                {
                    throw new TranscodeBusyException();
                }

                live = new LiveTranscode(lifetime.ApplicationStopping);
                _running[key] = live;
                _ = RunAsync(key, live, sources, rendition, path);
            }

            return (null, live, live.Attach());
        }
    }

    /// <summary>The cached file, waiting for (or starting) the transcode when it is not there yet.</summary>
    public async Task<string> GetCachedAsync(IReadOnlyList<MediaFile> sources, CancellationToken ct, AudioRendition? rendition = null)
    {
        var (path, live, listener) = Get(sources, rendition);
        if (path is not null)
        {
            return path;
        }

        using (listener)
        {
            return await live!.Completed.WaitAsync(ct);
        }
    }

    /// <summary>
    /// As <see cref="Get"/>, but a live transcode is returned only once ffmpeg produced its first bytes, so a
    /// recording ffmpeg cannot read fails here (<see cref="FfmpegException"/>), before any response starts.
    /// </summary>
    public async Task<(string? CachedPath, LiveTranscode? Live, IDisposable? Listener)> GetStartedAsync(IReadOnlyList<MediaFile> sources, CancellationToken ct, AudioRendition? rendition = null)
    {
        var found = Get(sources, rendition);
        try
        {
            if (found.Live is not null)
            {
                await found.Live.StartedAsync(ct);
            }

            return found;
        }
        catch
        {
            found.Listener?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Every place a transcode of these sources may be cached (whether or not it exists): today's MP3 and each channel
    /// and format choice; the retention purge deletes them with the sources.
    /// </summary>
    public IEnumerable<string> CachePathsFor(IReadOnlyList<MediaFile> sources)
    {
        yield return CachePath(Key(sources, AudioRendition.Default), AudioRendition.Default.Format);
        foreach (var mode in Enum.GetValues<ChannelMode>())
        {
            foreach (var format in (string[])["mp3", "wav"])
            {
                for (var channels = 0; channels <= MaxSourceChannels; channels++)
                {
                    var rendition = new AudioRendition(mode, format, channels);
                    if (!rendition.IsDefault)
                    {
                        yield return CachePath(Key(sources, rendition), format);
                    }
                }
            }
        }
    }

    /// <summary>The most channels a stored file is looked at with when choosing a rendition (a probe's answer is kept as is).</summary>
    private const int MaxSourceChannels = 8;

    private string CachePath(string key, string format) => Path.Combine(media.CacheDir, format, key + "." + format);

    private async Task RunAsync(string key, LiveTranscode live, IReadOnlyList<MediaFile> sources, AudioRendition rendition, string path)
    {
        await Task.Yield();
        var temp = storage.NewTempPath(rendition.Format);
        var failed = true;
        metrics.JobStarted(JobKind.Transcode, wasQueued: false);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var log = ffmpeg.LogPath(string.Create(CultureInfo.InvariantCulture, $"transcode-{clock.GetUtcNow():yyyyMMdd'T'HHmmss.fff}-{key[..12]}.log"));
            // Encrypted sources are read by ffmpeg from private plaintext copies, removed when the run ends.
            await using var inputs = await LocalInputs.OpenAsync(storage, sources, live.Cancelled);
            await using var run = ffmpeg.Start(Arguments(sources, inputs.Paths, rendition, temp), log, live.Cancelled);
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await run.Output.ReadAsync(buffer, live.Cancelled)) > 0)
            {
                live.Append(buffer.AsSpan(0, read));
            }

            await run.Exited;
            await storage.CommitAsync(temp, path, live.Cancelled);
            live.Complete(path);
            failed = false;
        }
        catch (Exception ex)
        {
            if (ex is not OperationCanceledException)
            {
                LogFailed(logger, ex, key);
            }

            live.Fail(ex is OperationCanceledException
                ? new OperationCanceledException(lifetime.ApplicationStopping.IsCancellationRequested ? "transcode cancelled: the server is stopping" : "transcode cancelled: no listener left")
                : ex);
        }
        finally
        {
            metrics.JobFinished(JobKind.Transcode, failed);
            File.Delete(temp);
            lock (_gate)
            {
                _running.TryRemove(key, out _);
            }

            _slots.Release();
        }
    }

    private List<string> Arguments(IReadOnlyList<MediaFile> sources, IReadOnlyList<string> inputs, AudioRendition rendition, string cacheFile)
    {
        var kbps = options.Value.Mp3Kbps.ToString(CultureInfo.InvariantCulture) + "k";
        var args = new List<string>();
        if (!rendition.IsDefault)
        {
            return ChannelConversion.Arguments(sources, inputs, rendition, kbps, cacheFile);
        }

        for (var i = 0; i < sources.Count; i++)
        {
            args.AddRange(MediaFormats.Input(inputs[i], sources[i].Format));
        }

        if (sources.Count == 1)
        {
            args.AddRange(["-map", "0:a"]);
        }
        else
        {
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
            args.AddRange(["-filter_complex", graph.ToString(), "-map", "[out]", "-t", seconds, "-ac", "2"]);
        }

        // One encode, two outputs: the cache file (seekable, so ffmpeg writes its Info header) and the live pipe.
        args.AddRange(["-c:a", "libmp3lame", "-b:a", kbps, "-flush_packets", "1", "-f", "tee", $"[f=mp3]{TeeEscape(cacheFile)}|[f=mp3]pipe:1"]);
        return args;
    }

    public static string TeeEscape(string path) => path.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("|", "\\|", StringComparison.Ordinal).Replace("[", "\\[", StringComparison.Ordinal);

    private string Key(IReadOnlyList<MediaFile> sources, AudioRendition rendition)
    {
        var text = new StringBuilder("mp3-v1|").Append(options.Value.Mp3Kbps);
        foreach (var s in sources)
        {
            text.Append(CultureInfo.InvariantCulture, $"|{s.Crc32:x8}:{s.Size}:{s.StartAt}:{s.StopAt}");
        }

        if (!rendition.IsDefault)
        {
            // Today's renditions keep their keys (and their cached files); a channel or format choice has its own.
            text.Append(CultureInfo.InvariantCulture, $"|{ChannelConversion.Version}:{AudioRendition.Name(rendition.Channels)}:{rendition.Format}:{rendition.SourceChannels}");
        }

        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..32].ToLowerInvariant();
    }

    private static void LogFailed(ILogger logger, Exception ex, string key) =>
        logger.LogWarning(ex, "Transcode {Key} failed", key);
}

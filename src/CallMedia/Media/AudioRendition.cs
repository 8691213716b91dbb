using System.Collections.Concurrent;
using System.Globalization;
using CallMedia.Calls;
using CallMedia.Storage;

namespace CallMedia.Media;

/// <summary>The channel layout asked for: as today (<see cref="Keep"/>), or one of the token option <c>channels=</c>.</summary>
public enum ChannelMode
{
    /// <summary>What the service did before channel choice: a stored file as it is, two legs merged into stereo.</summary>
    Keep,

    /// <summary>Caller left, callee right.</summary>
    Stereo,

    /// <summary>Both parties mixed at equal loudness into one channel.</summary>
    Mono,

    /// <summary>The caller's side only, one channel.</summary>
    Caller,

    /// <summary>The callee's side only, one channel.</summary>
    Callee,
}

/// <summary>
/// One converted rendition of a couple's audio: the channel layout and the output format (<c>mp3</c> or <c>wav</c>),
/// with the channel count of a single source (a stereo file holds the caller left and the callee right).
/// </summary>
public sealed record AudioRendition(ChannelMode Channels, string Format, int SourceChannels = 0)
{
    /// <summary>Today's rendition: the stored audio as MP3, two legs merged into stereo.</summary>
    public static readonly AudioRendition Default = new(ChannelMode.Keep, "mp3");

    public bool IsDefault => Channels == ChannelMode.Keep && Format == "mp3";

    public static string Name(ChannelMode mode) => mode.ToString().ToLowerInvariant();
}

/// <summary>What to send for a couple's audio under a channel and format choice.</summary>
public abstract record AudioPlan
{
    /// <summary>The stored file as it is.</summary>
    public sealed record AsStored : AudioPlan;

    /// <summary>A conversion through the transcode cache.</summary>
    public sealed record Convert(AudioRendition Rendition) : AudioPlan;

    /// <summary>No rendition can honour the choice; the message says why (422).</summary>
    public sealed record Refuse(string Message) : AudioPlan;

    public const string MonoOnly = "This recording has a single mono channel: the caller's and the callee's sides cannot be separated (ask for channels=mono, or no channels).";

    /// <summary>
    /// The decision for <paramref name="legs"/> audio files (two or more: one per direction; one: a file whose channels
    /// are <paramref name="sourceChannels"/>), asked for <paramref name="mode"/> in <paramref name="format"/> (null: the
    /// recorded format where no conversion is needed, MP3 otherwise). A stream (<paramref name="stream"/>) is always
    /// converted unless the stored file is already in the format sent.
    /// </summary>
    public static AudioPlan Decide(int legs, int sourceChannels, string storedFormat, ChannelMode mode, string? format, bool stream)
    {
        if (legs >= 2)
        {
            // Two legs: stereo is exactly the merge streams always did.
            return new Convert(new AudioRendition(mode == ChannelMode.Stereo ? ChannelMode.Keep : mode, format ?? "mp3"));
        }

        var mono = sourceChannels < 2;
        if (mono && mode is ChannelMode.Stereo or ChannelMode.Caller or ChannelMode.Callee)
        {
            return new Refuse(MonoOnly);
        }

        var changesChannels = mode is ChannelMode.Caller or ChannelMode.Callee || (mode == ChannelMode.Mono && !mono);
        if (changesChannels)
        {
            return new Convert(new AudioRendition(mode, format ?? "mp3", sourceChannels));
        }

        var target = format ?? (stream ? "mp3" : storedFormat);
        return target == storedFormat ? new AsStored() : new Convert(new AudioRendition(ChannelMode.Keep, target, sourceChannels));
    }
}

/// <summary>How many channels a stored audio file has (ffprobe, once per file content; the answer is kept).</summary>
public sealed class ChannelProbe(Ffmpeg ffmpeg, IMediaStorage storage)
{
    private readonly ConcurrentDictionary<string, int> _known = new(StringComparer.Ordinal);

    /// <summary>
    /// The plan for a couple's <paramref name="audio"/> files under a channel and format choice: the one decision both
    /// the delivery and the token issue (its 422 and its url's extension) make. Throws <see cref="FfmpegException"/> when
    /// a single file cannot be probed.
    /// </summary>
    public async Task<AudioPlan> DecideAsync(IReadOnlyList<MediaFile> audio, ChannelMode? channels, string? format, bool stream, CancellationToken ct)
    {
        var sourceChannels = audio.Count == 1 && channels is not null ? await ChannelsAsync(audio[0], ct) : 0;
        return AudioPlan.Decide(audio.Count, sourceChannels, audio[0].Format, channels ?? ChannelMode.Keep, format, stream);
    }

    public async Task<int> ChannelsAsync(MediaFile file, CancellationToken ct)
    {
        var key = string.Create(CultureInfo.InvariantCulture, $"{file.Path}|{file.Crc32:x8}|{file.Size}");
        if (_known.TryGetValue(key, out var known))
        {
            return known;
        }

        var demuxer = MediaFormats.Demuxer(file.Format) ?? throw new FfmpegException($"recordings stored as .{file.Format} cannot be read");
        // An encrypted file is probed through a private plaintext copy, removed afterwards.
        await using var input = await storage.OpenLocalInputAsync(file.Path, file.Format, ct);
        var output = await ffmpeg.ProbeAsync(
            ["-v", "error", "-protocol_whitelist", "file", "-f", demuxer, "-select_streams", "a:0", "-show_entries", "stream=channels",
             "-of", "default=noprint_wrappers=1:nokey=1", "file:" + input.Path],
            ct);
        var channels = int.TryParse(output.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 1;
        _known[key] = channels;
        return channels;
    }
}

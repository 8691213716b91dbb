using System.Globalization;
using System.Text;
using CallMedia.Calls;
using CallMedia.Storage;

namespace CallMedia.Media;

/// <summary>
/// The ffmpeg command of a channel or format choice (<see cref="AudioRendition"/>): one filter graph per mode over the
/// couple's legs (one file per direction: the earlier-starting leg is the caller) or over one file (a stereo file holds
/// the caller left and the callee right). Legs are delayed to their start on the call's timeline and padded, and the
/// result spans the whole call, as the stereo merge does.
/// </summary>
public static class ChannelConversion
{
    /// <summary>Part of the cache key: a change to the graphs below makes new cache files.</summary>
    public const string Version = "ch-v1";

    /// <param name="inputs">The local file ffmpeg reads for each of <paramref name="sources"/>, in the same order.</param>
    public static List<string> Arguments(IReadOnlyList<MediaFile> sources, IReadOnlyList<string> inputs, AudioRendition rendition, string mp3Kbps, string cacheFile)
    {
        var args = new List<string>();
        if (sources.Count == 1)
        {
            args.AddRange(MediaFormats.Input(inputs[0], sources[0].Format));
            args.AddRange(["-map", "0:a"]);
            var pan = (rendition.Channels, rendition.SourceChannels >= 2) switch
            {
                (ChannelMode.Mono, true) => "pan=mono|c0=0.5*c0+0.5*c1",
                (ChannelMode.Caller, _) => "pan=mono|c0=c0",
                (ChannelMode.Callee, true) => "pan=mono|c0=c1",
                _ => null,
            };
            if (pan is not null)
            {
                args.AddRange(["-af", pan]);
            }
        }
        else
        {
            // The legs that make up the result, each its own input.
            var legs = rendition.Channels switch
            {
                ChannelMode.Caller => Enumerable.Range(0, 1).ToList(),
                ChannelMode.Callee => Enumerable.Range(1, sources.Count - 1).ToList(),
                _ => Enumerable.Range(0, sources.Count).ToList(),
            };
            var used = legs.Select(i => sources[i]).ToList();
            foreach (var i in legs)
            {
                args.AddRange(MediaFormats.Input(inputs[i], sources[i].Format));
            }

            var origin = sources.Min(s => s.StartAt);
            var end = sources.Max(s => s.StopAt);
            var graph = new StringBuilder();
            var labels = new StringBuilder();
            for (var i = 0; i < used.Count; i++)
            {
                var delay = used[i].StartAt - origin;
                graph.Append(CultureInfo.InvariantCulture, $"[{i}:a]aformat=sample_fmts=fltp:sample_rates=16000:channel_layouts=mono,adelay={delay},apad[a{i}];");
                labels.Append(CultureInfo.InvariantCulture, $"[a{i}]");
            }

            // Stereo: one leg per channel. Mono: the legs mixed, each at 1/n (amix's normalisation), so both
            // parties keep equal loudness. One side: that leg alone (several callee legs mixed).
            var (join, channels) = rendition.Channels switch
            {
                ChannelMode.Keep or ChannelMode.Stereo => ($"amerge=inputs={used.Count}", "2"),
                _ when used.Count == 1 => ("anull", "1"),
                _ => ($"amix=inputs={used.Count}:duration=longest", "1"),
            };
            graph.Append(CultureInfo.InvariantCulture, $"{labels}{join}[out]");
            var seconds = ((end - origin) / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);
            args.AddRange(["-filter_complex", graph.ToString(), "-map", "[out]", "-t", seconds, "-ac", channels]);
        }

        if (rendition.Format == "wav")
        {
            // WAV is never streamed live (its header needs the length): ffmpeg writes the cache file only.
            args.AddRange(["-c:a", "pcm_s16le", "-f", "wav", cacheFile]);
        }
        else
        {
            args.AddRange(["-c:a", "libmp3lame", "-b:a", mp3Kbps, "-flush_packets", "1", "-f", "tee", $"[f=mp3]{TranscodeCache.TeeEscape(cacheFile)}|[f=mp3]pipe:1"]);
        }

        return args;
    }
}

using CallMedia.Calls;
using CallMedia.Hosting;
using CallMedia.Media;
using CallMedia.Storage;
using CallMedia.Tokens;
using Microsoft.Extensions.Options;

namespace CallMedia.Delivery;

/// <summary>
/// The delivery options of a token request (CallREC parameters <c>channels format name tz sidecar</c>, or the JSON API's
/// fields), checked before the token is issued; a one-leg mono recording asked for one side is refused then (422).
/// </summary>
public sealed class DeliveryOptionsReader(CallStore calls, ChannelProbe probe, IMediaStorage storage) : ITokenExtrasReader
{
    public TokenExtras Read(CallRecParameters parameters, TokenCriteria criteria)
    {
        try
        {
            var options = DeliveryOptions.Parse(
                parameters.One("channels"), parameters.One("format"), parameters.One("name"), parameters.One("tz"), parameters.One("sidecar"), criteria.Type, criteria.Action);
            return Extras(options);
        }
        catch (DeliveryOptionException ex)
        {
            throw new ParameterException(ex.Message);
        }
    }

    /// <summary>The options as stored with the token, and their check against the couple.</summary>
    public TokenExtras Extras(DeliveryOptions options) =>
        options == DeliveryOptions.None ? TokenExtras.None : new TokenExtras(options.ToJson(), options.Channels is null ? null : (ids, ct) => VetAsync(options, ids, ct));

    /// <summary>
    /// Couples whose only audio is a mono file cannot be split into sides: a token whose couples all are such (or have no
    /// audio) is refused (422); a zip that also holds a deliverable couple lists them as <c>mono-only</c> instead.
    /// </summary>
    private async Task<string?> VetAsync(DeliveryOptions options, IReadOnlyList<long> ids, CancellationToken ct)
    {
        if (options.Channels is not (ChannelMode.Stereo or ChannelMode.Caller or ChannelMode.Callee))
        {
            return null;
        }

        var files = await calls.GetFilesAsync(ids, ct);
        var refused = false;
        foreach (var id in ids)
        {
            switch (await PlanAsync(options, files[id], stream: false, ct))
            {
                case AudioPlan.Refuse:
                    refused = true;
                    break;
                case null:
                    break;
                default:
                    return null;
            }
        }

        return refused ? AudioPlan.MonoOnly : null;
    }

    /// <summary>
    /// The extension of what a converting token for one couple sends (the delivery's own decision), or null when that
    /// cannot be known now (no audio, a file gone, unreadable: the send answers those).
    /// </summary>
    public async Task<string?> ExtensionAsync(DeliveryOptions options, long id, bool stream, CancellationToken ct)
    {
        var audio = (await calls.GetFilesAsync([id], ct))[id].Where(f => f.Type == MediaType.Audio).ToList();
        return await PlanAsync(options, audio, stream, ct) switch
        {
            AudioPlan.AsStored => audio[0].Format,
            AudioPlan.Convert { Rendition: var rendition } => rendition.Format,
            _ => null,
        };
    }

    private async Task<AudioPlan?> PlanAsync(DeliveryOptions options, IEnumerable<MediaFile> files, bool stream, CancellationToken ct)
    {
        var audio = files.Where(f => f.Type == MediaType.Audio).ToList();
        if (audio.Count == 0 || !audio.All(f => storage.Exists(f.Path)))
        {
            // No audio, or a file gone: the send answers that as it always did.
            return null;
        }

        try
        {
            return await probe.DecideAsync(audio, options.Channels, options.Format, stream, ct);
        }
        catch (FfmpegException)
        {
            return null;
        }
    }
}

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

    /// <summary>One couple whose only audio is a mono file cannot be split into sides; a zip lists such couples as <c>mono-only</c> instead.</summary>
    private async Task<string?> VetAsync(DeliveryOptions options, IReadOnlyList<long> ids, CancellationToken ct)
    {
        if (ids.Count != 1 || options.Channels is not (ChannelMode.Stereo or ChannelMode.Caller or ChannelMode.Callee))
        {
            return null;
        }

        var audio = (await calls.GetFilesAsync(ids, ct))[ids[0]].Where(f => f.Type == MediaType.Audio).ToList();
        if (audio is not [var single] || !storage.Exists(single.Path))
        {
            // No audio, or a file gone: the send answers that as it always did.
            return null;
        }

        try
        {
            return await probe.ChannelsAsync(single, ct) < 2 ? AudioPlan.MonoOnly : null;
        }
        catch (FfmpegException)
        {
            return null;
        }
    }
}

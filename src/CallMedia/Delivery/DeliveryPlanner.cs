using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;
using CallMedia.Calls;
using CallMedia.Delivery.Zip;
using CallMedia.Hosting;
using CallMedia.Media;
using CallMedia.Storage;
using CallMedia.Tokens;
using Microsoft.Extensions.Options;

namespace CallMedia.Delivery;

/// <summary>
/// Turns a redeemed token into a delivery: the rows of the table in API.md §3, one method each.
/// </summary>
public sealed class DeliveryPlanner(CallStore calls, IMediaStorage storage, TranscodeCache transcodes, ChannelProbe probe, IOptions<DeliverySettings> settings)
{
    /// <summary>Size, CRC-32 and SHA-256 of converted files (cache files are named by their content, so they never change).</summary>
    /// <summary>How many files a zip's planning looks at at once.</summary>
    private const int LooksInFlight = 16;

    private readonly ConcurrentDictionary<string, (long Size, uint Crc32, string Sha256)> _hashes = new(StringComparer.Ordinal);

    /// <param name="grant">What the token was issued for.</param>
    /// <param name="couples">The couples it names, already checked against the user's rights and scope.</param>
    /// <param name="files">Their media files when already read with them (<see cref="CoupleAccess.CheckWithFilesAsync"/>); null to read them here.</param>
    /// <param name="needsLength">The client needs a length (HEAD, or a range past the start): no live streaming.</param>
    /// <param name="options">The delivery options the token was issued with.</param>
    /// <param name="ct">The request's cancellation.</param>
    public async Task<Delivery> PlanAsync(
        TokenGrant grant, IReadOnlyDictionary<long, Couple> couples, ILookup<long, MediaFile>? files, bool needsLength, DeliveryOptions options, CancellationToken ct)
    {
        files ??= await calls.GetFilesAsync(grant.CoupleIds, ct);
        var namer = FileNamer.For(settings.Value, options);
        try
        {
            return (grant.Action, grant.Type) switch
            {
                (TokenAction.Stream, MediaType.Audio) when options.ConvertsAudio => await ConvertedAsync(couples[grant.CoupleIds[0]], files, options, namer, inline: true, needsLength, ct),
                (TokenAction.Stream, MediaType.Audio) => await AudioStreamAsync(couples[grant.CoupleIds[0]], files, needsLength, namer, ct),
                (TokenAction.Stream, _) => VideoStream(couples[grant.CoupleIds[0]], files, namer),
                (TokenAction.Prepare, _) => Prepare(couples[grant.CoupleIds[0]], files),
                _ => await DownloadAsync(grant, couples, files, options, namer, ct),
            };
        }
        catch (MediaStoreUnavailableException)
        {
            // The object store is away (Storage:Kind=s3): like busy transcoding, a 503 the client retries.
            return new FailedDelivery(StatusCodes.Status503ServiceUnavailable, ErrorNumbers.Busy, "The media store is unavailable; retry shortly.");
        }
    }

    private static Delivery Prepare(Couple couple, ILookup<long, MediaFile> files) =>
        files[couple.Id].Any(f => f.Type is MediaType.Recd or MediaType.Video)
            ? new PrepareDelivery(couple.Id)
            : IsPurged(couple, MediaType.Video) ? Purged() : new FailedDelivery(StatusCodes.Status404NotFound, ErrorNumbers.NotFound, "This call has no screen capture to prepare.");

    private async Task<Delivery> AudioStreamAsync(Couple couple, ILookup<long, MediaFile> files, bool needsLength, FileNamer namer, CancellationToken ct)
    {
        var audio = files[couple.Id].Where(f => f.Type == MediaType.Audio).ToList();
        if (audio.Count == 0)
        {
            return IsPurged(couple, MediaType.Audio) ? Purged() : NoMedia();
        }

        var stored = audio.ConvertAll(Stat);
        if (stored.Contains(null))
        {
            return Missing();
        }

        var name = namer.Name(couple, MediaType.Audio, "mp3", 0, 1);
        if (audio is [{ Format: "mp3" } single])
        {
            return new FileDelivery(single.Path, "audio/mpeg", name, Inline: true, StoredETag(single), stored[0]);
        }

        try
        {
            var (cached, live, listener) = needsLength ? (await transcodes.GetCachedAsync(audio, ct), null, null) : await transcodes.GetStartedAsync(audio, ct);
            return cached is not null
                ? new FileDelivery(cached, "audio/mpeg", name, Inline: true, CachedETag(cached))
                : new LiveDelivery(live!, listener!, name);
        }
        catch (TranscodeBusyException)
        {
            return Busy();
        }
        catch (FfmpegException)
        {
            return Unreadable();
        }
    }

    /// <summary>A couple's audio in the channel layout and format the token asks for (stream or single download).</summary>
    private async Task<Delivery> ConvertedAsync(Couple couple, ILookup<long, MediaFile> files, DeliveryOptions options, FileNamer namer, bool inline, bool needsLength, CancellationToken ct)
    {
        var audio = files[couple.Id].Where(f => f.Type == MediaType.Audio).ToList();
        if (audio.Count == 0)
        {
            return NoMedia();
        }

        if (audio.Any(f => !Exists(f)))
        {
            return Missing();
        }

        try
        {
            switch (await DecideAsync(audio, options, stream: inline, ct))
            {
                case AudioPlan.Refuse refused:
                    return new FailedDelivery(StatusCodes.Status422UnprocessableEntity, ErrorNumbers.PrepareFailed, refused.Message);
                case AudioPlan.Convert { Rendition: var rendition }:
                    var name = namer.Name(couple, MediaType.Audio, rendition.Format, 0, 1);
                    var type = ContentTypes.ForFormat(rendition.Format);
                    if (!inline || needsLength || rendition.Format != "mp3")
                    {
                        var path = await transcodes.GetCachedAsync(audio, ct, rendition);
                        return new FileDelivery(path, type, name, inline, CachedETag(path));
                    }

                    var (cached, live, listener) = await transcodes.GetStartedAsync(audio, ct, rendition);
                    return cached is not null ? new FileDelivery(cached, type, name, inline, CachedETag(cached)) : new LiveDelivery(live!, listener!, name);
                default:
                    var single = audio[0];
                    return new FileDelivery(single.Path, ContentTypes.ForFormat(single.Format), namer.Name(couple, MediaType.Audio, single.Format, 0, 1), inline, StoredETag(single));
            }
        }
        catch (TranscodeBusyException)
        {
            return Busy();
        }
        catch (FfmpegException)
        {
            return Unreadable();
        }
    }

    private Task<AudioPlan> DecideAsync(List<MediaFile> audio, DeliveryOptions options, bool stream, CancellationToken ct) =>
        probe.DecideAsync(audio, options.Channels, options.Format, stream, ct);

    /// <summary>What the channels of a rendition of <paramref name="legs"/> files are, for <c>calldata.json</c>.</summary>
    private static string ChannelsOf(AudioRendition rendition, int legs) => rendition.Channels switch
    {
        ChannelMode.Keep when legs >= 2 || rendition.SourceChannels >= 2 => "stereo",
        ChannelMode.Keep when rendition.SourceChannels == 1 => "mono",
        ChannelMode.Keep => "recorded",
        var mode => AudioRendition.Name(mode),
    };

    private static string CachedETag(string path) => $"\"t-{Path.GetFileNameWithoutExtension(path)}\"";

    private Delivery VideoStream(Couple couple, ILookup<long, MediaFile> files, FileNamer namer)
    {
        var video = files[couple.Id].FirstOrDefault(f => f.Type == MediaType.Video);
        if (video is null)
        {
            return files[couple.Id].Any(f => f.Type == MediaType.Recd) ? Unmixed() : IsPurged(couple, MediaType.Video) ? Purged() : NoMedia();
        }

        return Stat(video) is { } stored
            ? new FileDelivery(video.Path, "video/mp4", namer.Name(couple, MediaType.Video, video.Format, 0, 1), Inline: true, StoredETag(video), stored)
            : Missing();
    }

    private async Task<Delivery> DownloadAsync(TokenGrant grant, IReadOnlyDictionary<long, Couple> couples, ILookup<long, MediaFile> files, DeliveryOptions options, FileNamer namer, CancellationToken ct)
    {
        if (grant.CoupleIds.Count == 1 && !options.Sidecar)
        {
            var couple = couples[grant.CoupleIds[0]];
            var ofType = files[couple.Id].Where(f => f.Type == grant.Type).ToList();
            if (ofType.Count == 0)
            {
                return grant.Type == MediaType.Video && files[couple.Id].Any(f => f.Type == MediaType.Recd) ? Unmixed() : IsPurged(couple, grant.Type) ? Purged() : NoMedia();
            }

            if (grant.Type == MediaType.Audio && options.ConvertsAudio)
            {
                return await ConvertedAsync(couple, files, options, namer, inline: false, needsLength: true, ct);
            }

            if (ofType is [var single])
            {
                return await RecordedAsync(single, ct) is { } stored
                    ? new FileDelivery(single.Path, ContentTypes.ForFormat(single.Format), namer.Name(couple, grant.Type, single.Format, 0, 1), Inline: false, StoredETag(single), stored)
                    : Missing();
            }
        }

        return await ZipAsync(grant, couples, files, options, namer, ct);
    }

    private async Task<Delivery> ZipAsync(TokenGrant grant, IReadOnlyDictionary<long, Couple> couples, ILookup<long, MediaFile> files, DeliveryOptions options, FileNamer namer, CancellationToken ct)
    {
        var known = await StatAllAsync(grant.CoupleIds.SelectMany(id => files[id]).Where(f => f.Type == grant.Type), ct);
        var manifest = new CallDataManifest();
        var entries = new List<ZipEntry>();
        var statuses = new HashSet<string>(StringComparer.Ordinal);
        var lastModified = DateTimeOffset.MinValue;
        var identity = new StringBuilder();
        foreach (var id in grant.CoupleIds)
        {
            var couple = couples[id];
            var all = files[id].ToList();
            var ofType = all.Where(f => f.Type == grant.Type).ToList();
            if (ofType.Count == 0)
            {
                var status = grant.Type == MediaType.Video && all.Any(f => f.Type == MediaType.Recd) ? "unmixed" : IsPurged(couple, grant.Type) ? PurgedStatus : "no-media";
                manifest.Add(couple, grant.Type, null, null, status);
                statuses.Add(status);
                continue;
            }

            if (grant.Type == MediaType.Audio && options.ConvertsAudio && ofType.All(f => Recorded(f, known[f.Path]) is not null))
            {
                try
                {
                    var plan = await DecideAsync(ofType, options, stream: false, ct);
                    if (plan is AudioPlan.Refuse)
                    {
                        manifest.Add(couple, grant.Type, null, null, "mono-only");
                        statuses.Add("mono-only");
                        continue;
                    }

                    if (plan is AudioPlan.Convert { Rendition: var rendition })
                    {
                        var path = await transcodes.GetCachedAsync(ofType, ct, rendition);
                        var (size, crc, sha) = await HashAsync(path, ct);
                        var entry = namer.Name(couple, grant.Type, rendition.Format, 0, 1);
                        manifest.Add(couple, grant.Type, entry, ofType[0], "ok", new DeliveredFile(rendition.Format, size, crc, sha, ChannelsOf(rendition, ofType.Count)));
                        statuses.Add("ok");
                        entries.Add(new ZipEntry(entry, size, crc, DateTimeOffset.FromUnixTimeMilliseconds(ofType.Min(f => f.StartAt)).UtcDateTime, path));
                        var written = storage.Stat(path)?.LastModified;
                        lastModified = written > lastModified ? written.Value : lastModified;
                        identity.Append(CultureInfo.InvariantCulture, $"{Path.GetFileName(path)};");
                        continue;
                    }
                }
                catch (TranscodeBusyException)
                {
                    return Busy();
                }
                catch (FfmpegException)
                {
                    manifest.Add(couple, grant.Type, null, null, "unreadable");
                    statuses.Add("unreadable");
                    continue;
                }
            }

            for (var i = 0; i < ofType.Count; i++)
            {
                var f = ofType[i];
                var info = Recorded(f, known[f.Path]);
                if (info is null)
                {
                    manifest.Add(couple, grant.Type, null, f, "missing");
                    statuses.Add("missing");
                    continue;
                }

                var name = namer.Name(couple, grant.Type, f.Format, i, ofType.Count);
                manifest.Add(couple, grant.Type, name, f, "ok");
                statuses.Add("ok");
                entries.Add(new ZipEntry(name, f.Size, (uint)f.Crc32, DateTimeOffset.FromUnixTimeMilliseconds(f.StartAt).UtcDateTime, f.Path));
                if (info.LastModified > lastModified)
                {
                    lastModified = info.LastModified;
                }

                identity.Append(CultureInfo.InvariantCulture, $"{f.Id}:{f.Crc32:x8}:{f.Size};");
            }
        }

        if (!statuses.Contains("ok"))
        {
            return statuses.SetEquals(["unmixed"]) ? Unmixed() : statuses.Contains("missing") ? Missing() : statuses.SetEquals([PurgedStatus]) ? Purged() : NoMedia();
        }

        var text = manifest.ToBytes();
        var oldest = entries.Min(e => e.ModifiedUtc);
        entries.Insert(0, new ZipEntry(CallDataManifest.FileName, text.Length, Crc32.HashToUInt32(text), oldest, null, text));

        // The zips of old clients stay byte for byte what they were, unless the operator wants the sidecar in every zip.
        byte[] json = [];
        if (options != DeliveryOptions.None || settings.Value.CallDataJsonInEveryZip)
        {
            json = manifest.ToJson(namer.Zone);
            entries.Insert(1, new ZipEntry(CallDataManifest.JsonFileName, json.Length, Crc32.HashToUInt32(json), oldest, null, json));
        }

        var etag = Convert.ToHexString(SHA256.HashData([.. text, .. json, .. Encoding.UTF8.GetBytes(identity.ToString())]))[..32];
        return new ZipDelivery(new ZipLayout(entries), "calldata.zip", $"\"z-{etag.ToLowerInvariant()}\"", lastModified);
    }

    private StoredObject? Stat(MediaFile file)
    {
        try
        {
            return Recorded(file, storage.Stat(file.Path));
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>A file whose (plaintext) size differs from the record is not the recorded file; it is treated as gone.</summary>
    private static StoredObject? Recorded(MediaFile file, StoredObject? info) => info is not null && info.Length == file.Size ? info : null;

    private async Task<StoredObject?> RecordedAsync(MediaFile file, CancellationToken ct) => Recorded(file, await StatOrNullAsync(file.Path, ct));

    private async Task<StoredObject?> StatOrNullAsync(string path, CancellationToken ct)
    {
        try
        {
            return await storage.StatAsync(path, ct);
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>
    /// Looks at a zip's files several at a time (on an object store, a HEAD each: a zip of 1,000 calls waits for
    /// 1,000 / <see cref="LooksInFlight"/> round trips, not 1,000). A store failure fails the planning as one look would.
    /// </summary>
    private async Task<IReadOnlyDictionary<string, StoredObject?>> StatAllAsync(IEnumerable<MediaFile> files, CancellationToken ct)
    {
        var found = new ConcurrentDictionary<string, StoredObject?>(StringComparer.Ordinal);
        var paths = files.Select(f => f.Path).Distinct(StringComparer.Ordinal);
        await Parallel.ForEachAsync(paths, new ParallelOptions { MaxDegreeOfParallelism = LooksInFlight, CancellationToken = ct }, async (path, token) =>
            found[path] = await StatOrNullAsync(path, token));
        return found;
    }

    /// <summary>Whether the file is in storage with its recorded size (what a send would find).</summary>
    public bool Exists(MediaFile file) => Stat(file) is not null;

    private static string StoredETag(MediaFile f) => string.Create(CultureInfo.InvariantCulture, $"\"m{f.Id:x}-{f.Crc32:x8}-{f.Size:x}\"");

    private async Task<(long Size, uint Crc32, string Sha256)> HashAsync(string path, CancellationToken ct)
    {
        if (_hashes.TryGetValue(path, out var known))
        {
            return known;
        }

        var crc = new Crc32();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        long size = 0;
        await using (var stream = storage.OpenRead(path))
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, ct)) > 0)
            {
                crc.Append(buffer.AsSpan(0, read));
                sha.AppendData(buffer, 0, read);
                size += read;
            }
        }

        var hashes = (size, crc.GetCurrentHashAsUInt32(), Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant());
        _hashes[path] = hashes;
        return hashes;
    }

    private static FailedDelivery Busy() =>
        new(StatusCodes.Status503ServiceUnavailable, ErrorNumbers.Busy, "All transcoding slots are busy; retry shortly.");

    // Never the tool's own words: they name server paths.
    private static FailedDelivery Unreadable() =>
        new(StatusCodes.Status422UnprocessableEntity, ErrorNumbers.PrepareFailed, "This recording cannot be read as its declared format; it cannot be transcoded.");

    /// <summary>The <c>calldata.txt</c> status of a couple whose files of the type were deleted by the retention purge.</summary>
    public const string PurgedStatus = "purged";

    /// <summary>The retention purge deleted the couple's files of this type (a video request counts the capture too).</summary>
    private static bool IsPurged(Couple couple, int type) =>
        (couple.PurgedTypes & (type == MediaType.Video ? MediaType.Video | MediaType.Recd : type)) != 0;

    private static FailedDelivery Purged() =>
        new(StatusCodes.Status410Gone, ErrorNumbers.Purged, "The recordings of this call were deleted under the retention policy (purged).");

    private static FailedDelivery Unmixed() =>
        new(StatusCodes.Status409Conflict, ErrorNumbers.Unmixed, "The video is not mixed yet; request a token with type=16 and action=prepare first.");

    private static FailedDelivery Missing() =>
        new(StatusCodes.Status404NotFound, ErrorNumbers.NotFound, "A media file of this call is missing from storage.");

    private static FailedDelivery NoMedia() =>
        new(StatusCodes.Status404NotFound, ErrorNumbers.NotFound, "This call has no media of the requested type.");
}

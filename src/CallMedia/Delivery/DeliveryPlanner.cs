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

namespace CallMedia.Delivery;

/// <summary>
/// Turns a redeemed token into a delivery: the rows of the table in API.md §3, one method each.
/// </summary>
public sealed class DeliveryPlanner(CallStore calls, MediaRoot media, TranscodeCache transcodes)
{
    /// <param name="grant">What the token was issued for.</param>
    /// <param name="couples">The couples it names, already checked against the user's rights and scope.</param>
    /// <param name="needsLength">The client needs a length (HEAD, or a range past the start): no live streaming.</param>
    /// <param name="ct">The request's cancellation.</param>
    public async Task<Delivery> PlanAsync(TokenGrant grant, IReadOnlyDictionary<long, Couple> couples, bool needsLength, CancellationToken ct)
    {
        var files = await calls.GetFilesAsync(grant.CoupleIds, ct);
        return (grant.Action, grant.Type) switch
        {
            (TokenAction.Stream, MediaType.Audio) => await AudioStreamAsync(couples[grant.CoupleIds[0]], files, needsLength, ct),
            (TokenAction.Stream, _) => VideoStream(couples[grant.CoupleIds[0]], files),
            (TokenAction.Prepare, _) => Prepare(couples[grant.CoupleIds[0]], files),
            _ => Download(grant, couples, files),
        };
    }

    private static Delivery Prepare(Couple couple, ILookup<long, MediaFile> files) =>
        files[couple.Id].Any(f => f.Type is MediaType.Recd or MediaType.Video)
            ? new PrepareDelivery(couple.Id)
            : IsPurged(couple, MediaType.Video) ? Purged() : new FailedDelivery(StatusCodes.Status404NotFound, ErrorNumbers.NotFound, "This call has no screen capture to prepare.");

    private async Task<Delivery> AudioStreamAsync(Couple couple, ILookup<long, MediaFile> files, bool needsLength, CancellationToken ct)
    {
        var audio = files[couple.Id].Where(f => f.Type == MediaType.Audio).ToList();
        if (audio.Count == 0)
        {
            return IsPurged(couple, MediaType.Audio) ? Purged() : NoMedia();
        }

        if (audio.Any(f => !Exists(f)))
        {
            return Missing();
        }

        var name = EntryNames.For(couple.Id, couple.Sid, "mp3", 0, 1);
        if (audio is [{ Format: "mp3" } single])
        {
            return new FileDelivery(media.Resolve(single.Path), "audio/mpeg", name, Inline: true, StoredETag(single));
        }

        try
        {
            var (cached, live, listener) = needsLength ? (await transcodes.GetCachedAsync(audio, ct), null, null) : await transcodes.GetStartedAsync(audio, ct);
            return cached is not null
                ? new FileDelivery(cached, "audio/mpeg", name, Inline: true, $"\"t-{Path.GetFileNameWithoutExtension(cached)}\"")
                : new LiveDelivery(live!, listener!, name);
        }
        catch (TranscodeBusyException)
        {
            return new FailedDelivery(StatusCodes.Status503ServiceUnavailable, ErrorNumbers.Busy, "All transcoding slots are busy; retry shortly.");
        }
        catch (FfmpegException)
        {
            // Never the tool's own words: they name server paths.
            return new FailedDelivery(StatusCodes.Status422UnprocessableEntity, ErrorNumbers.PrepareFailed, "This recording cannot be read as its declared format; it cannot be transcoded.");
        }
    }

    private Delivery VideoStream(Couple couple, ILookup<long, MediaFile> files)
    {
        var video = files[couple.Id].FirstOrDefault(f => f.Type == MediaType.Video);
        if (video is null)
        {
            return files[couple.Id].Any(f => f.Type == MediaType.Recd) ? Unmixed() : IsPurged(couple, MediaType.Video) ? Purged() : NoMedia();
        }

        return Exists(video)
            ? new FileDelivery(media.Resolve(video.Path), "video/mp4", EntryNames.For(couple.Id, couple.Sid, video.Format, 0, 1), Inline: true, StoredETag(video))
            : Missing();
    }

    private Delivery Download(TokenGrant grant, IReadOnlyDictionary<long, Couple> couples, ILookup<long, MediaFile> files)
    {
        if (grant.CoupleIds.Count == 1)
        {
            var couple = couples[grant.CoupleIds[0]];
            var ofType = files[couple.Id].Where(f => f.Type == grant.Type).ToList();
            if (ofType.Count == 0)
            {
                return grant.Type == MediaType.Video && files[couple.Id].Any(f => f.Type == MediaType.Recd) ? Unmixed() : IsPurged(couple, grant.Type) ? Purged() : NoMedia();
            }

            if (ofType is [var single])
            {
                return Exists(single)
                    ? new FileDelivery(media.Resolve(single.Path), ContentTypes.ForFormat(single.Format), EntryNames.For(couple.Id, couple.Sid, single.Format, 0, 1), Inline: false, StoredETag(single))
                    : Missing();
            }
        }

        return Zip(grant, couples, files);
    }

    private Delivery Zip(TokenGrant grant, IReadOnlyDictionary<long, Couple> couples, ILookup<long, MediaFile> files)
    {
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

            for (var i = 0; i < ofType.Count; i++)
            {
                var f = ofType[i];
                var info = Stat(f);
                if (info is null)
                {
                    manifest.Add(couple, grant.Type, null, f, "missing");
                    statuses.Add("missing");
                    continue;
                }

                var name = EntryNames.For(couple.Id, couple.Sid, f.Format, i, ofType.Count);
                manifest.Add(couple, grant.Type, name, f, "ok");
                statuses.Add("ok");
                entries.Add(new ZipEntry(name, f.Size, (uint)f.Crc32, DateTimeOffset.FromUnixTimeMilliseconds(f.StartAt).UtcDateTime, info.FullName));
                if (info.LastWriteTimeUtc > lastModified)
                {
                    lastModified = info.LastWriteTimeUtc;
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
        var etag = Convert.ToHexString(SHA256.HashData([.. text, .. Encoding.UTF8.GetBytes(identity.ToString())]))[..32];
        return new ZipDelivery(new ZipLayout(entries), "calldata.zip", $"\"z-{etag.ToLowerInvariant()}\"", lastModified);
    }

    private FileInfo? Stat(MediaFile file)
    {
        try
        {
            var info = new FileInfo(media.Resolve(file.Path));
            // A file whose size differs from the record is not the recorded file; it is treated as gone.
            return info.Exists && info.Length == file.Size ? info : null;
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>Whether the file is in storage with its recorded size (what a send would find).</summary>
    public bool Exists(MediaFile file) => Stat(file) is not null;

    private static string StoredETag(MediaFile f) => string.Create(CultureInfo.InvariantCulture, $"\"m{f.Id:x}-{f.Crc32:x8}-{f.Size:x}\"");

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

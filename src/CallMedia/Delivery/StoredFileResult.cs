using CallMedia.Storage;
using Microsoft.Net.Http.Headers;

namespace CallMedia.Delivery;

/// <summary>
/// A plain local file known by its identity (<see cref="StoredObject.Identity"/>), sent with the framework's range
/// processing (<see cref="SegmentedStreamResult.HeadersAsync"/>: the same status and headers as its file result) from
/// one open of the file: no second look at it by path, no advisory lock taken and released, and only the very file
/// that was looked at: when the file opened is not that one (replaced in between, by an encryption or a link swapped
/// in), nothing is sent and the request is answered 503, to be retried.
/// </summary>
public sealed class StoredFileResult(string path, FileIdentity identity, string contentType, DateTimeOffset lastModified, EntityTagHeaderValue etag) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        if (await SegmentedStreamResult.HeadersAsync(httpContext, identity.Size, contentType, lastModified, etag) is not { } part)
        {
            return;
        }

        using var file = FileIdentity.OpenRead(path);
        if (file is null || FileIdentity.Of(file) != identity)
        {
            throw new MediaStoreUnavailableException("the media file changed between its look and its open");
        }

        await AuditedTransfer.SendFileAsync(httpContext, file, part.From, part.Count);
    }
}

using CallMedia.Storage;
using Microsoft.Net.Http.Headers;

namespace CallMedia.Delivery;

/// <summary>
/// A plain local file known by its identity (<see cref="StoredObject.Identity"/>), sent with the framework's range
/// processing (<see cref="SegmentedStreamResult.HeadersAsync"/>: the same status and headers as its file result) from
/// one open of the file (<see cref="IMediaStorage.OpenLooked"/>): no second look at it by path, no advisory lock
/// taken and released, and only the very file that was looked at, still where it may be read from. When the file
/// opened is not that one (replaced in between, by an encryption or a link swapped in, or moved out of the allowed
/// folders) nothing is sent: 503, to be retried, and the transfer is recorded so.
/// </summary>
public sealed class StoredFileResult(IMediaStorage storage, StoredObject stored, string contentType, DateTimeOffset lastModified, EntityTagHeaderValue etag) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var isHead = HttpMethods.IsHead(httpContext.Request.Method);
        using var file = isHead ? null : storage.OpenLooked(stored);
        if (!isHead && file is null)
        {
            httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            throw new MediaStoreUnavailableException("the media file changed between its look and its open");
        }

        if (await SegmentedStreamResult.HeadersAsync(httpContext, stored.Length, contentType, lastModified, etag) is { } part)
        {
            await AuditedTransfer.SendFileAsync(httpContext, file!.Handle, part.From, part.Count);
        }
    }
}

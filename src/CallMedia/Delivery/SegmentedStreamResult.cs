using Microsoft.Net.Http.Headers;

namespace CallMedia.Delivery;

/// <summary>
/// A seekable body (an encrypted file's plaintext, a zip) sent with the framework's range processing — status,
/// Accept-Ranges, ETag, Last-Modified, If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since, If-Range,
/// 206 and 416 exactly as for a stream result — but with a body of its own: the stream reads straight into the
/// server's output memory in large pieces (<see cref="AuditedTransfer.SendAsync"/>) instead of through the
/// framework's 64 KiB copy buffer, so an encrypted file is decrypted into the response without a copy in between.
/// The framework runs as for a <c>HEAD</c> of the same request (it sets every header and the status and writes no
/// body); the range it chose is read back from the status and <c>Content-Range</c>.
/// </summary>
public sealed class SegmentedStreamResult(Stream body, string contentType, DateTimeOffset lastModified, EntityTagHeaderValue etag) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        await using (body)
        {
            if (await HeadersAsync(httpContext, body.Length, contentType, lastModified, etag) is { } part)
            {
                body.Position = part.From;
                await AuditedTransfer.SendAsync(httpContext, body, part.Count);
            }
        }
    }

    /// <summary>
    /// Sets the status and every header of a response with a body of <paramref name="length"/> bytes through the
    /// framework's range processing, writing no body; returns the part of the body to send, null when there is none
    /// (a HEAD, a 304, a 412, a 416).
    /// </summary>
    public static async Task<(long From, long Count)?> HeadersAsync(HttpContext httpContext, long length, string contentType, DateTimeOffset lastModified, EntityTagHeaderValue etag)
    {
        var request = httpContext.Request;
        var method = request.Method;
        request.Method = HttpMethods.Head;
        try
        {
            await TypedResults.Stream(new SizedStream(length), contentType, null, lastModified, etag, enableRangeProcessing: true).ExecuteAsync(httpContext);
        }
        finally
        {
            request.Method = method;
        }

        var response = httpContext.Response;
        if (HttpMethods.IsHead(method) || response.StatusCode is not (StatusCodes.Status200OK or StatusCodes.Status206PartialContent))
        {
            return null;
        }

        var range = response.StatusCode == StatusCodes.Status206PartialContent ? response.GetTypedHeaders().ContentRange : null;
        return (range?.From ?? 0, response.ContentLength ?? length);
    }

    /// <summary>What the framework's range processing needs of the body: its length.</summary>
    private sealed class SizedStream(long length) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get; set; }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

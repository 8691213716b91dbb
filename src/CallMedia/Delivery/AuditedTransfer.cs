using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;

namespace CallMedia.Delivery;

/// <summary>
/// Runs a media result while counting the bytes its body hands to the server (stream writes and file sends),
/// then reports how many went out and whether the transfer completed, for the audit record.
/// </summary>
public sealed class AuditedTransfer(IResult inner, Action<long, bool> record) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var original = httpContext.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        var meter = new CountingBodyFeature(original);
        httpContext.Features.Set<IHttpResponseBodyFeature>(meter);
        var finished = false;
        try
        {
            await inner.ExecuteAsync(httpContext);
            await meter.FlushAsync();
            finished = !httpContext.RequestAborted.IsCancellationRequested;
        }
        finally
        {
            httpContext.Features.Set(original);
            var expected = HttpMethods.IsHead(httpContext.Request.Method) ? 0 : httpContext.Response.ContentLength;
            record(meter.Bytes, finished && (expected is null || expected == meter.Bytes));
        }
    }

    private sealed class CountingBodyFeature(IHttpResponseBodyFeature inner) : IHttpResponseBodyFeature
    {
        private long _bytes;
        private CountingStream? _stream;
        private PipeWriter? _writer;

        public long Bytes => Interlocked.Read(ref _bytes);

        public Stream Stream => _stream ??= new CountingStream(inner.Stream, this);

        public PipeWriter Writer => _writer ??= PipeWriter.Create(Stream, new StreamPipeWriterOptions(leaveOpen: true));

        public void DisableBuffering() => inner.DisableBuffering();

        public Task StartAsync(CancellationToken cancellationToken = default) => inner.StartAsync(cancellationToken);

        public async Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
        {
            await inner.SendFileAsync(path, offset, count, cancellationToken);
            Add(count ?? new FileInfo(path).Length - offset);
        }

        public async Task CompleteAsync()
        {
            await FlushAsync();
            await inner.CompleteAsync();
        }

        public async Task FlushAsync()
        {
            if (_writer is not null)
            {
                await _writer.FlushAsync();
            }
        }

        public void Add(long n) => Interlocked.Add(ref _bytes, n);
    }

    private sealed class CountingStream(Stream inner, CountingBodyFeature meter) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken);
            meter.Add(buffer.Length);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override void Flush() => throw new NotSupportedException("responses are written asynchronously");

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("responses are written asynchronously");

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}

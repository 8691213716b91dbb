using System.Buffers;
using System.IO.Pipelines;
using CallMedia.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Win32.SafeHandles;

namespace CallMedia.Delivery;

/// <summary>
/// Runs a media result while counting the bytes its body hands to the server, write by write, and reports how many
/// went out and whether the transfer completed, for the audit record. Once the client is gone
/// (<see cref="HttpContext.RequestAborted"/>, read afresh before every write) nothing more is written or counted: the server would silently discard
/// it. Stored files are sent in segments through the same counted writes, so an aborted file transfer is recorded
/// with what was handed over before the abort, not with nothing or with the whole file. The report (the record's
/// closing write) is not waited for: <see cref="TransferRecords"/>.
/// </summary>
public sealed class AuditedTransfer(IResult inner, Func<long, bool, Task> record) : IResult
{
    /// <summary>
    /// Bytes handed to the transport per flush (and read from a stored file per read): large enough to keep the
    /// transport busy with few wake-ups (PERF-NOTES: 1 MiB reads reach about 0.9 of nginx), small enough to stop promptly.
    /// </summary>
    public const int FileSegment = 1024 * 1024;

    /// <summary>
    /// The response pipe's limit (the server's <c>MaxResponseBufferSize</c>): two segments, so a body read in
    /// <see cref="FileSegment"/> pieces is read (an encrypted one decrypted) while the transport sends the piece
    /// before, and a slow client holds no more than this much of its response in memory.
    /// </summary>
    public const int ResponseBuffer = 2 * FileSegment;

    /// <summary>
    /// Sends <paramref name="count"/> bytes of <paramref name="source"/>, from its current position, as the body of the
    /// response: read straight into the server's output memory in <see cref="FileSegment"/> pieces (no copy buffer in
    /// between), counted and flushed piece by piece like a stored file. Only inside an <see cref="AuditedTransfer"/>.
    /// </summary>
    public static Task SendAsync(HttpContext context, Stream source, long count) =>
        context.Features.Get<IHttpResponseBodyFeature>() is CountingBodyFeature meter
            ? meter.SendAsync(source.ReadAsync, count, CancellationToken.None)
            : throw new InvalidOperationException("a body is sent in segments only inside an audited transfer");

    /// <summary><paramref name="count"/> bytes of an open file from <paramref name="offset"/>, as a stored file is sent. Only inside an <see cref="AuditedTransfer"/>.</summary>
    public static Task SendFileAsync(HttpContext context, SafeFileHandle file, long offset, long count) =>
        context.Features.Get<IHttpResponseBodyFeature>() is CountingBodyFeature meter
            ? meter.SendFileAsync(file, offset, count, CancellationToken.None)
            : throw new InvalidOperationException("a file is sent in segments only inside an audited transfer");

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var original = httpContext.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        var records = httpContext.RequestServices.GetRequiredService<TransferRecords>();
        var pending = records.Start(bodyless: HttpMethods.IsHead(httpContext.Request.Method));
        var meter = new CountingBodyFeature(original, httpContext, pending);
        httpContext.Features.Set<IHttpResponseBodyFeature>(meter);
        var finished = false;
        try
        {
            await inner.ExecuteAsync(httpContext);
            if (meter.CutOff)
            {
                // The client left mid-body and the result ended quietly (the framework's file sending ends without an
                // error on a cancelled request): the connection is cut here, as for any transfer broken mid-body, or
                // the server, not yet told the client is gone, takes the short body for an application error.
                httpContext.Abort();
            }

            pending.Settleable = true;
            await meter.FlushAsync();
            finished = true;
        }
        finally
        {
            httpContext.Features.Set(original);
            var expected = HttpMethods.IsHead(httpContext.Request.Method) ? 0 : httpContext.Response.ContentLength;
            // A body of known length is complete when every byte was handed to the transport and none was refused or
            // left unsent, even if the client closed its connection the moment it had read the last one (before this
            // line runs); one of unknown length only if the client is still there, the one sign of its end.
            var complete = finished && !meter.CutOff && (expected is null ? !meter.IsAborted : expected == meter.Bytes);
            var bytes = meter.Bytes;
            records.Close(pending, () => record(bytes, complete));
        }
    }

    private sealed class CountingBodyFeature(IHttpResponseBodyFeature inner, HttpContext context, TransferRecords.Pending pending) : IHttpResponseBodyFeature
    {
        private long _bytes;
        private long _unflushed;
        private volatile bool _gone;
        private bool _cutOff;
        private CountingStream? _stream;
        private PipeWriter? _writer;

        public long Bytes => Interlocked.Read(ref _bytes);

        /// <summary>
        /// Whether the client is gone. Read afresh each time: Kestrel answers an already-cancelled token the moment the
        /// connection is lost, while the token handed out earlier is cancelled later from the thread pool, and in
        /// between writes are silently discarded (under load, long enough to "send" hundreds of MB).
        /// </summary>
        public bool IsAborted => _gone || context.RequestAborted.IsCancellationRequested;

        /// <summary>Whether the transfer was cut off: a write refused, a flush the transport did not take, or bytes left unsent.</summary>
        public bool CutOff => _cutOff;

        /// <summary>Whether the last byte of a body of known length has been handed over.</summary>
        private bool AllHandedOver => context.Response.ContentLength == Bytes;

        private ClientGoneException Gone(Exception? cause = null)
        {
            _gone = true;
            _cutOff = true;
            return new ClientGoneException(cause);
        }

        /// <summary>
        /// Hands bytes to the server's output pipe and counts them; for a body of known length the pipe is flushed to
        /// the transport once <see cref="FileSegment"/> bytes are waiting, so a body written in small pieces (a zip's
        /// 64 KiB copies) still reaches the transport in large segments. The flush result says at once when the transport has stopped
        /// taking data (the client is gone), before the request is marked aborted.
        /// </summary>
        public async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
        {
            if (IsAborted)
            {
                throw Gone();
            }

            inner.Writer.Write(buffer.Span);
            Add(buffer.Length);
            _unflushed += buffer.Length;
            // A body of unknown length (a transcode streamed as it is produced) goes out write by write.
            if (_unflushed >= FileSegment || context.Response.ContentLength is null)
            {
                await FlushPipeAsync(cancellationToken);
            }
        }

        /// <summary>
        /// Sends what waits in the pipe; throws once the transport has stopped taking data. A flush that has to wait took
        /// its bytes into a transport still sending (one that has stopped answers at once), so when the client leaves
        /// during the wait after the last byte of the body was handed over, as clients do the moment they have it, the
        /// body went out whole: the transfer ends there, not cut off.
        /// </summary>
        public async ValueTask FlushPipeAsync(CancellationToken cancellationToken)
        {
            var pending = _unflushed;
            _unflushed = 0;
            if (_gone)
            {
                // Nothing more reaches the client: only a body already wholly handed over is left as it is.
                if (pending > 0 || !AllHandedOver)
                {
                    throw Gone();
                }

                return;
            }

            var taken = false;
            FlushResult result;
            try
            {
                var flush = inner.Writer.FlushAsync(cancellationToken);
                taken = !flush.IsCompleted;
                result = await flush;
            }
            catch (OperationCanceledException ex) when (ex is not ClientGoneException)
            {
                Left(taken, ex);
                return;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                Left(taken, null);
            }
        }

        /// <summary>The client left during a flush: the end of a body the transport had taken, or a cut-off.</summary>
        private void Left(bool taken, Exception? cause)
        {
            if (taken && AllHandedOver)
            {
                _gone = true;
                return;
            }

            throw Gone(cause);
        }

        public Stream Stream => _stream ??= new CountingStream(this);

        public PipeWriter Writer => _writer ??= PipeWriter.Create(Stream, new StreamPipeWriterOptions(leaveOpen: true));

        public void DisableBuffering() => inner.DisableBuffering();

        public Task StartAsync(CancellationToken cancellationToken = default)
        {
            // An empty body is whole once the headers leave.
            if (AllHandedOver)
            {
                pending.Settleable = true;
            }

            return inner.StartAsync(cancellationToken);
        }

        /// <summary>
        /// A stored file, read in <see cref="FileSegment"/> pieces straight into the server's output pipe (no copy in
        /// between) and flushed piece by piece, counted as it goes: an aborted transfer is recorded with what was
        /// handed over before the abort, not with nothing or with the whole file.
        /// </summary>
        public async Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            await SendFileAsync(file, offset, count ?? RandomAccess.GetLength(file) - offset, cancellationToken);
        }

        public async Task SendFileAsync(SafeFileHandle file, long offset, long remaining, CancellationToken cancellationToken)
        {
            // The headers go into the pipe first, so the file is read straight into the pipe behind them: bytes written
            // before the response has started are kept aside by the server and copied behind the headers at the first
            // flush, a copy of every small file (about 8 % of a redemption's CPU, docs/benchmarks.md, fifteenth round).
            // The price, for a local read alone: one that fails before the first byte has left cuts the connection
            // (the headers never leave either) where it would have answered 500. Other sources (object storage, an
            // encrypted file) keep their error answer for a first read that fails: 503 for a store that is away.
            await StartAsync(cancellationToken);
            Func<Memory<byte>, CancellationToken, ValueTask<int>> read = remaining <= FileSegment ? ReadHere : ReadOnPoolAsync;
            await SendAsync(read, remaining, cancellationToken);

            // One segment (a call's audio, mostly) is read where we are: an asynchronous read is this same read handed
            // to another pool thread, a hop that costs more than the read of a cached page.
            ValueTask<int> ReadHere(Memory<byte> memory, CancellationToken token)
            {
                var n = RandomAccess.Read(file, memory.Span, offset);
                offset += n;
                return ValueTask.FromResult(n);
            }

            async ValueTask<int> ReadOnPoolAsync(Memory<byte> memory, CancellationToken token)
            {
                var n = await RandomAccess.ReadAsync(file, memory, offset, token);
                offset += n;
                return n;
            }
        }

        /// <summary>
        /// <paramref name="remaining"/> bytes from <paramref name="read"/>, which fills the server's output memory
        /// directly, <see cref="FileSegment"/> at a time, each piece flushed and counted before the next is read.
        /// </summary>
        public async Task SendAsync(Func<Memory<byte>, CancellationToken, ValueTask<int>> read, long remaining, CancellationToken cancellationToken)
        {
            // Linked only when the caller has a token of its own (none on the delivery path: no source to register with).
            using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, context.RequestAborted) : null;
            var stop = linked?.Token ?? context.RequestAborted;
            await FlushAsync();
            var writer = inner.Writer;
            while (remaining > 0)
            {
                if (IsAborted)
                {
                    throw Gone();
                }

                var want = (int)Math.Min(FileSegment, remaining);
                var n = await read(writer.GetMemory(want)[..want], stop);
                if (n == 0)
                {
                    throw new IOException($"the file ended {remaining} bytes early");
                }

                writer.Advance(n);
                Add(n);
                remaining -= n;
                await FlushPipeAsync(stop);
            }
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

            if (_unflushed > 0)
            {
                // Counted but never sent: the client left first.
                if (IsAborted)
                {
                    _gone = true;
                    _cutOff = true;
                }
                else
                {
                    await FlushPipeAsync(CancellationToken.None);
                }
            }
        }

        /// <summary>Counts bytes handed to the server; the last of a body of known length makes the transfer settleable.</summary>
        public void Add(long n)
        {
            Interlocked.Add(ref _bytes, n);
            if (AllHandedOver)
            {
                pending.Settleable = true;
            }
        }
    }

    private sealed class CountingStream(CountingBodyFeature meter) : Stream
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

        /// <summary>Counts a write once the server has taken it; refuses writes once the client is gone.</summary>
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            meter.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async Task FlushAsync(CancellationToken cancellationToken) => await meter.FlushPipeAsync(cancellationToken);

        public override void Flush() => throw new NotSupportedException("responses are written asynchronously");

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("responses are written asynchronously");

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}

namespace CallMedia.Media;

/// <summary>
/// One transcode in progress: ffmpeg's output as it is produced, shared by every listener that asked for the same
/// rendition. Listeners read from the first byte whenever they join, and wait (no polling) for more. When the last
/// listener leaves before the end, the transcode is cancelled; with one listener left, it runs on.
/// </summary>
public sealed class LiveTranscode
{
    private readonly Lock _gate = new();
    private readonly List<ReadOnlyMemory<byte>> _chunks = [];
    private readonly CancellationTokenSource _cancel;
    private TaskCompletionSource _changed = NewSignal();
    private readonly TaskCompletionSource<string> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _listeners;

    public LiveTranscode(CancellationToken stopping) => _cancel = CancellationTokenSource.CreateLinkedTokenSource(stopping);

    public CancellationToken Cancelled => _cancel.Token;

    /// <summary>The cached file's path once the transcode finished and was renamed into place.</summary>
    public Task<string> Completed => _done.Task;

    /// <summary>Joins as a listener; dispose to leave.</summary>
    public IDisposable Attach()
    {
        lock (_gate)
        {
            _listeners++;
        }

        return new Listener(this);
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        var copy = data.ToArray();
        TaskCompletionSource changed;
        lock (_gate)
        {
            _chunks.Add(copy);
            changed = _changed;
            _changed = NewSignal();
        }

        changed.TrySetResult();
    }

    public void Complete(string path)
    {
        _done.TrySetResult(path);
        Signal();
    }

    public void Fail(Exception error)
    {
        _done.TrySetException(error);
        Signal();
    }

    /// <summary>Completes once the first bytes are there or the transcode finished; throws when it failed before any output.</summary>
    public async Task StartedAsync(CancellationToken ct)
    {
        while (true)
        {
            Task more;
            lock (_gate)
            {
                if (_chunks.Count > 0)
                {
                    return;
                }

                more = _changed.Task;
            }

            if (_done.Task.IsCompleted)
            {
                await _done.Task;
                return;
            }

            await more.WaitAsync(ct);
        }
    }

    /// <summary>Writes everything produced so far, then each new piece as it comes, until the transcode ends.</summary>
    public async Task CopyToAsync(Stream destination, CancellationToken ct)
    {
        var next = 0;
        while (true)
        {
            ReadOnlyMemory<byte>[] pending;
            Task more;
            lock (_gate)
            {
                pending = _chunks.Skip(next).ToArray();
                next = _chunks.Count;
                more = _changed.Task;
            }

            foreach (var chunk in pending)
            {
                await destination.WriteAsync(chunk, ct);
            }

            if (pending.Length > 0)
            {
                await destination.FlushAsync(ct);
                continue;
            }

            if (_done.Task.IsCompleted)
            {
                await _done.Task; // throws when ffmpeg failed, which aborts the response
                lock (_gate)
                {
                    if (next == _chunks.Count)
                    {
                        return;
                    }
                }

                continue;
            }

            await more.WaitAsync(ct);
        }
    }

    private void Signal()
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            changed = _changed;
            _changed = NewSignal();
        }

        changed.TrySetResult();
    }

    private void Leave()
    {
        bool last;
        lock (_gate)
        {
            last = --_listeners == 0;
        }

        if (last && !_done.Task.IsCompleted)
        {
            _cancel.Cancel();
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class Listener(LiveTranscode owner) : IDisposable
    {
        private int _left;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _left, 1) == 0)
            {
                owner.Leave();
            }
        }
    }
}

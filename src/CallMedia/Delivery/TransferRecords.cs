using System.Collections.Concurrent;

namespace CallMedia.Delivery;

/// <summary>
/// The closing writes of transfers' audit records (bytes sent, outcome). A transfer's record is in the database,
/// open, before its first byte; its closing write goes to the next group commit after the response, without the
/// request waiting for that commit, so a keep-alive connection (a player's next range request, a download manager's
/// next file) goes on at once instead of behind a second commit. Until it commits the record reads as started; a
/// node that dies first leaves it open, and it is chained as it stands (<c>Audit:ChainOpenAfter</c>).
/// </summary>
public sealed partial class TransferRecords(ILogger<TransferRecords> logger)
{
    private readonly ConcurrentDictionary<Pending, byte> _pending = new();

    /// <summary>A transfer about to start; it is waited for by <see cref="SettledAsync"/> once it has sent its whole body.</summary>
    public Pending Start(bool bodyless)
    {
        var pending = new Pending { Settleable = bodyless };
        _pending.TryAdd(pending, 0);
        return pending;
    }

    /// <summary>Runs the closing write of <paramref name="pending"/> without waiting for it; a failure is logged.</summary>
    public void Close(Pending pending, Func<Task> write)
    {
        pending.Settleable = true;
        Task task;
        try
        {
            task = write();
        }
        catch (Exception ex)
        {
            task = Task.FromException(ex);
        }

        _ = task.ContinueWith(
            done =>
            {
                if (done.Exception is { } failure)
                {
                    LogCloseFailed(logger, failure.GetBaseException().Message);
                }

                _pending.TryRemove(pending, out _);
                pending.Done.TrySetResult();
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>
    /// Completes when the record of every transfer that has handed over its whole body (or ended) is closed in the
    /// database: for whoever must read the log as it stands, right after a client has its response. Transfers still
    /// sending are not waited for.
    /// </summary>
    public async Task SettledAsync()
    {
        foreach (var pending in _pending.Keys)
        {
            if (pending.Settleable)
            {
                await pending.Done.Task;
            }
        }
    }

    public sealed class Pending
    {
        private volatile bool _settleable;

        /// <summary>Whether the client may already have the whole response: set on the request's own thread before it could.</summary>
        public bool Settleable
        {
            get => _settleable;
            set => _settleable = value;
        }

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(EventId = 61, Level = LogLevel.Warning, Message = "Closing a transfer's audit record failed; it stays open and is chained as it stands: {Reason}")]
    private static partial void LogCloseFailed(ILogger logger, string reason);
}

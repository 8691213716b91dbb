using System.Data;
using System.Data.Common;
using System.Threading.Channels;
using CallMedia.Audit;
using CallMedia.Data;
using Microsoft.Extensions.Options;

namespace CallMedia.Tokens;

/// <summary>
/// Group commit for the writes of the delivery path: requests that arrive together are served by one transaction of
/// a single writer loop. A redemption is still decided by its own conditional UPDATE (so at most one request on any
/// node wins a token), with its audit record inserted in that same transaction; a finished transfer's record is
/// closed in the next one. Each request is released only when the transaction holding its write has committed. A
/// request that arrives while a transaction runs waits for the next one, which takes everything queued by then (up
/// to <see cref="MaxBatch"/>): under load one commit serves many requests; with no load it is one per request.
/// The records a group writes closed (token issues, transfers' closings) join the audit chain in the same statements
/// (<see cref="InlineChain"/>) when the group can take the chain.
/// </summary>
public sealed partial class RedemptionBatcher : IAsyncDisposable
{
    /// <summary>Writes per transaction at most, so one transaction never holds the write lock for long.</summary>
    public const int MaxBatch = 64;

    private readonly Database _db;
    private readonly TimeProvider _clock;
    private readonly IOptions<AuditOptions> _audit;
    private readonly ILogger<RedemptionBatcher> _logger;
    private readonly Channel<Work> _queue = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;

    /// <summary>
    /// SQLite: the group's commits leave checkpoints of the write-ahead log (a copy into the database file and two
    /// syncs, which every request waiting for the group would wait for too) to a loop of their own,
    /// which takes one this long after the last (when a group committed since); past <see cref="CheckpointBacklogPages"/>
    /// the group's connection checkpoints itself again, so a stalled loop cannot let the log grow without bound.
    /// Often and small: while a checkpoint syncs the database file the group's own writes to the log slow down, for
    /// as long as the sync takes (docs/benchmarks.md, ninth round: at 200 ms, p99 of token issue 27 – 32 ms; at 20 ms,
    /// 16 – 18 ms).
    /// </summary>
    private static readonly TimeSpan CheckpointInterval = TimeSpan.FromMilliseconds(20);

    private static readonly TimeSpan CheckpointRetryPause = TimeSpan.FromSeconds(1);

    private const int CheckpointBacklogPages = 10_000;

    private const int DefaultCheckpointPages = 1_000;

    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _checkpoints;
    private int _committedSinceCheckpoint;

    public RedemptionBatcher(Database db, TimeProvider clock, IOptions<AuditOptions> audit, ILogger<RedemptionBatcher> logger)
    {
        _db = db;
        _clock = clock;
        _audit = audit;
        _logger = logger;
        _loop = Task.Run(RunAsync);
        _checkpoints = db.Kind == DbKind.Sqlite ? Task.Run(CheckpointLoopAsync) : Task.CompletedTask;
    }

    /// <summary>The row a redemption returns: what the token was issued for.</summary>
    public sealed class GrantRow
    {
        public long UserId { get; set; }

        public string CoupleIds { get; set; } = "";

        public long MediaType { get; set; }

        public string Action { get; set; } = "";

        public string? Options { get; set; }
    }

    /// <summary>
    /// Redeems one token (hash, session, at <paramref name="now"/>) in the next group transaction; when it wins,
    /// <paramref name="record"/> (optional), with the token's couple ids as stored, is the audit record inserted in the
    /// same transaction — on PostgreSQL by the redeeming statement itself — and <paramref name="alsoRead"/> (optional)
    /// names reads that travel in the group's next pipeline (on PostgreSQL: what the request reads next, without a
    /// round trip of its own). Completes after the commit: the row, the record's seq and the record as written (for
    /// <see cref="CompleteAsync"/>), or null when the token was not redeemable.
    /// </summary>
    public Task<(GrantRow Row, long? AuditSeq, AuditEntry? Record)?> RedeemAsync(
        string hash, string session, long now, long leaseUntil, AuditEntry? record, Func<GrantRow, PipelinedRead?>? alsoRead = null) =>
        Enqueue(new Redemption(hash, session, now, leaseUntil, record, alsoRead, _db.Kind == DbKind.Postgres));

    /// <summary>
    /// Writes the open audit record of a transfer about to start that redeems nothing (a range or HEAD request within
    /// its token's lease) in the next group transaction. Completes after the commit, with the record's seq.
    /// </summary>
    public Task<long> OpenAsync(AuditEntry opened) => Enqueue(new Opening(opened));

    /// <summary>
    /// Closes a transfer's open audit record (<see cref="AuditLog.CompleteAsync(long, AuditEntry, CancellationToken)"/>)
    /// in the next group transaction. <paramref name="opened"/>, the record as it was written open, lets the group
    /// chain it in the closing UPDATE; without it the chainer does, later.
    /// </summary>
    public Task CompleteAsync(long seq, AuditEntry? opened, AuditEntry final) => Enqueue(new Completion(seq, opened, final));

    /// <summary>
    /// Issues a token in the next group transaction: <paramref name="count"/> (a statement that returns a row when the
    /// session's window has room) decides, then <paramref name="rows"/> of that decision are written, with the
    /// decision's audit record (closed, chained with the group's when it can). Issues run in
    /// <paramref name="lockKey"/> order (the session's hash, whose row the count locks), after the redemptions, so
    /// groups on different nodes take row locks in one order and never deadlock. Completes after the commit: whether
    /// the window had room.
    /// </summary>
    public Task<bool> IssueAsync(string lockKey, Statement count, Func<bool, (IReadOnlyList<Statement> Rows, AuditEntry Record)> rows) =>
        Enqueue(new Issue(lockKey, count, rows));

    private Task<T> Enqueue<T>(Work<T> work)
    {
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(work), this);
        return work.Done.Task;
    }

    private async Task RunAsync()
    {
        var batch = new List<Work>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            // Behind the requests already waiting for a thread, which queue their writes as they run: the group takes
            // them too (on SQLite about 11 writes a group instead of 6 at 32 connections; docs/benchmarks.md, eleventh
            // round). With nothing else to run this costs one hop through the thread pool; after a full group, when
            // more is waiting than a group takes, the loop goes straight on.
            if (batch.Count < MaxBatch)
            {
                await Task.Yield();
            }

            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var next))
            {
                batch.Add(next);
            }

            // Tokens are locked in hash order and audit rows in seq order, so two nodes' groups racing for the same
            // tokens can never deadlock, nor a group and the audit chainer (which locks in seq order too).
            var ordered = batch.Order(Comparer<Work>.Create(static (a, b) => a.CompareTo(b))).ToList();
            try
            {
                await CommitGroupAsync(ordered);
                foreach (var work in batch)
                {
                    work.Release();
                }
            }
            catch (Exception ex)
            {
                // Nothing of this transaction committed: every request in it fails as its own would have. The kept
                // connection goes too: the next group starts on a fresh one.
                await DropOwnConnectionAsync();
                _logger.LogWarning(ex, "A group of {Count} delivery writes failed", batch.Count);
                foreach (var work in batch)
                {
                    work.Fail(ex);
                }
            }
        }

        await DropOwnConnectionAsync();
    }

    /// <summary>
    /// Commits a group, running it again where that is safe: nothing of a run that failed before its COMMIT was sent
    /// committed. Again without the chain when a record it meant to chain was chained meanwhile (by a chainer whose
    /// clock is ahead); again on a new connection, once, when the connection kept from an earlier group died under
    /// this run (the database was restarted meanwhile: the connection is no longer open after the failure); again, up
    /// to <see cref="DeadlockRuns"/> times in all, when PostgreSQL chose this run to end a deadlock (with a writer that
    /// locks a session and then its tokens: a group locks tokens, then sessions, and so do the product's own sign-outs
    /// and users' changes, <see cref="Auth.IGrantRevoker"/>; another program writing the database may not). Any other
    /// failure — a timeout, a connection opened for this run — and any failure in the commit itself (whose outcome is
    /// unknown: a second run could redeem, open or close twice) fails the group's requests.
    /// </summary>
    private async Task CommitGroupAsync(List<Work> ordered)
    {
        var chain = true;
        var reconnected = false;
        var runs = 0;
        while (true)
        {
            runs++;
            try
            {
                await CommitAsync(ordered, chain);
                return;
            }
            catch (ChainMovedException ex) when (chain)
            {
                await DropOwnConnectionAsync();
                LogChainedGroupFailed(_logger, ex.Message);
                chain = false;
            }
            catch (Npgsql.PostgresException ex) when (!_committing && ex.SqlState == Npgsql.PostgresErrorCodes.DeadlockDetected && runs < DeadlockRuns)
            {
                // Rolled back whole; the other transaction goes on. The next run sees what it committed.
                await DropOwnConnectionAsync();
                LogGroupDeadlocked(_logger, ordered.Count, runs);
            }
            catch (Exception ex) when (!_committing && !reconnected && _runOnKept && _own is { State: not ConnectionState.Open })
            {
                await DropOwnConnectionAsync();
                LogGroupReconnected(_logger, ex.Message);
                reconnected = true;
            }
        }
    }

    /// <summary>How many times a group runs at most when each run is ended by a deadlock.</summary>
    private const int DeadlockRuns = 3;

    /// <summary>Whether the run under way has sent its COMMIT: from then on its outcome is unknown if it fails.</summary>
    private bool _committing;

    /// <summary>Whether the run under way uses a connection kept from an earlier group (not one opened for it).</summary>
    private bool _runOnKept;

    /// <summary>One run of a group in a transaction of its own, committed; <paramref name="chain"/>: taking the audit chain.</summary>
    private async Task CommitAsync(List<Work> ordered, bool chain)
    {
        _committing = false;
        _runOnKept = false;
        Func<DbConnection, Task<int>> group = async connection =>
        {
            await using var tx = await connection.BeginTransactionAsync();
            await RunGroupAsync(connection, tx, ordered, chain);
            _committing = true;
            await tx.CommitAsync();
            return 0;
        };
        // One connection kept open for the groups: on SQLite its statements stay compiled
        // (StatementPipeline.KeepPrepared); on PostgreSQL a pooled connection would be reset (seven statements) every
        // time it went back to the pool, once per group. A group that fails drops it; the next one opens another.
        await _db.WriteOnAsync(await OwnConnectionAsync(), group);
        if (_db.Kind == DbKind.Sqlite)
        {
            Volatile.Write(ref _committedSinceCheckpoint, 1);
        }
    }

    private DbConnection? _own;

    /// <summary>
    /// The kept connection, opened anew when there is none or the one kept is no longer open (a driver that noticed
    /// the database going away while the node was idle, with keepalives on, closes it).
    /// </summary>
    private async Task<DbConnection> OwnConnectionAsync()
    {
        if (_own is { State: not ConnectionState.Open })
        {
            await DropOwnConnectionAsync();
        }

        if (_own is null)
        {
            _own = await _db.OpenAsync();
            await _db.CheckpointPastAsync(_own, CheckpointBacklogPages);
            StatementPipeline.KeepPrepared(_own);
        }
        else
        {
            _runOnKept = true;
        }

        return _own;
    }

    private async Task CheckpointLoopAsync()
    {
        try
        {
            while (true)
            {
                // Counted from the end of the last checkpoint: on a slow disk they never run back to back.
                await Task.Delay(CheckpointInterval, _stopping.Token);
                if (Interlocked.Exchange(ref _committedSinceCheckpoint, 0) == 0)
                {
                    continue;
                }

                try
                {
                    await _db.CheckpointAsync(_stopping.Token);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Marked again, so a later pass tries again even if no group commits meanwhile; after a pause,
                    // so a failing disk gets one warning a second, not fifty.
                    Volatile.Write(ref _committedSinceCheckpoint, 1);
                    _logger.LogWarning(ex, "A checkpoint of the write-ahead log failed; the next one tries again");
                    await Task.Delay(CheckpointRetryPause, _stopping.Token);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>
    /// Closes the kept connection. Never throws: it runs in the writer loop's own error handling, and a loop that
    /// stopped would leave every later request waiting for ever.
    /// </summary>
    private async Task DropOwnConnectionAsync()
    {
        if (_own is not { } own)
        {
            return;
        }

        _own = null;
        StatementPipeline.ForgetPrepared(own);
        try
        {
            // Back to the pool as any other connection: checkpointing in its own commits.
            await _db.CheckpointPastAsync(own, DefaultCheckpointPages);
        }
        catch (Exception ex)
        {
            // A broken connection (a failed commit may leave it holding a transaction it cannot roll back): whoever
            // gets it next fails on it as on any broken connection.
            _logger.LogWarning(ex, "The group's connection could not be reset before closing");
        }

        try
        {
            await own.DisposeAsync();
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "The group's connection could not be closed cleanly");
        }
    }

    /// <summary>
    /// One group's writes in two pipelines (one round trip each on PostgreSQL) and the COMMIT. The first decides, in
    /// lock order: the redemptions' UPDATEs (tokens, by hash), the token issues' window counts (sessions, by lock
    /// key), then the media version and (<paramref name="chain"/>, when the group writes records it can chain) the
    /// audit chain; on PostgreSQL a redemption's statement inserts its open record too. The second writes what was
    /// decided: the winners' audit INSERTs (SQLite) with the reads their requests asked for, the records of transfers that redeem nothing, the transfers' closings (audit rows, by seq). The issued
    /// tokens' rows and records follow when there are any. A group costs the same few round trips however many
    /// requests it serves.
    /// </summary>
    private async Task RunGroupAsync(DbConnection connection, DbTransaction tx, List<Work> ordered, bool chain)
    {
        foreach (var work in ordered)
        {
            work.Reset();
        }

        var redemptions = ordered.OfType<Redemption>().ToList();
        var issues = ordered.OfType<Issue>().ToList();
        var completions = ordered.OfType<Completion>().ToList();

        // The chain, when the group writes records it can chain now: closed ones (a token issue's), and transfers'
        // records closing soon enough after they were opened that no chainer can have chained them as they stood.
        var youngSince = _clock.GetUtcNow() - (_audit.Value.ChainOpenAfter / 2);
        var taking = chain && (issues.Count > 0 || completions.Any(c => c.Chainable(youngSince))) ? InlineChain.Take(_db) : null;

        var decide = new List<Step>((2 * redemptions.Count) + issues.Count + 3);
        decide.AddRange(redemptions.SelectMany(r => r.Steps));
        decide.AddRange(issues.Select(i => new Step(i.Count, async reader => i.Counted(await reader.ReadAsync()))));

        // When any redemption asked for reads of couples and files, the media version: reads of couples whose copies
        // are of that version need not run (CallStore.CouplesWithFiles).
        long? mediaVersion = null;
        if (redemptions.Exists(r => r.Reads))
        {
            decide.Add(new Step(MediaVersion.Read, async reader => mediaVersion = await StatementPipeline.FirstLongAsync(reader)));
        }

        if (taking is not null)
        {
            decide.AddRange(Steps(taking));
        }

        await RunAsync(connection, tx, decide);
        var links = taking?.Chain;

        var write = new List<Step>();
        foreach (var won in redemptions)
        {
            if (won is { Entry: { } entry, Recorded: false })
            {
                write.Add(new Step(AuditLog.InsertStatement(entry, open: true), async reader => won.Record(await StatementPipeline.FirstLongAsync(reader) ?? throw new InvalidOperationException("the audit INSERT returned no seq"))));
            }

            if (won.Read is { } read && !(mediaVersion is { } version && read.KnownAt(version)))
            {
                write.AddRange(Steps(read));
            }
        }

        write.AddRange(ordered.OfType<Opening>().Select(o => new Step(AuditLog.InsertStatement(o.Record, open: true), async reader => o.Recorded(await StatementPipeline.FirstLongAsync(reader)))));
        write.AddRange(completions.Select(c => new Step(c.Statement(links, youngSince), async reader => c.Closed(await StatementPipeline.FirstLongAsync(reader)))));
        await RunAsync(connection, tx, write);

        await StatementPipeline.ExecuteAsync(
            connection,
            tx,
            issues.SelectMany(i => i.Rows.Append(links?.Insert(i.Record) ?? AuditLog.InsertStatement(i.Record, open: false))).ToList());
        foreach (var completion in completions)
        {
            // A record chained as it stood while its transfer ran gets a closing record of its own.
            await completion.FinishAsync(connection, tx, links);
        }
    }

    /// <summary>A statement of a group's pipeline and what to do with its result.</summary>
    private sealed record Step(Statement Statement, Func<DbDataReader, Task> Read);

    private static IEnumerable<Step> Steps(PipelinedRead read) =>
        read.Statements.Select((statement, index) => new Step(statement, reader => read.ReadAsync(index, reader)));

    private static Task RunAsync(DbConnection connection, DbTransaction tx, List<Step> steps) =>
        StatementPipeline.RunAsync(connection, tx, steps.ConvertAll(s => s.Statement), (i, reader) => steps[i].Read(reader));

    /// <summary>Lets the queued writes finish, then stops the loop.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        try
        {
            await _loop;
        }
        finally
        {
            await _stopping.CancelAsync();
            await _checkpoints;
            _stopping.Dispose();
        }
    }

    private abstract class Work
    {
        /// <summary>
        /// Redemptions first, by token hash; then the records of transfers that redeem nothing (new rows: no order
        /// needed), token issues by lock key, and completions, by audit seq.
        /// </summary>
        public int CompareTo(Work other) => Rank != other.Rank ? Rank.CompareTo(other.Rank) : CompareWithin(other);

        /// <summary>Where this kind of write comes in a group.</summary>
        protected abstract int Rank { get; }

        /// <summary>The order among writes of the same kind.</summary>
        protected abstract int CompareWithin(Work other);

        /// <summary>Forgets what a run of the group that did not commit decided, before the group runs again.</summary>
        public abstract void Reset();

        public abstract void Release();

        public abstract void Fail(Exception ex);
    }

    private abstract class Work<T> : Work
    {
        public TaskCompletionSource<T> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected T Result { get; set; } = default!;

        public override void Reset() => Result = default!;

        public override void Release() => Done.TrySetResult(Result);

        public override void Fail(Exception ex) => Done.TrySetException(ex);
    }

    private sealed class Redemption(
        string hash, string session, long now, long leaseUntil, AuditEntry? record, Func<GrantRow, PipelinedRead?>? alsoRead, bool recordsItself)
        : Work<(GrantRow Row, long? AuditSeq, AuditEntry? Record)?>
    {
        protected override int Rank => 0;

        protected override int CompareWithin(Work other) => string.CompareOrdinal(hash, ((Redemption)other).Hash);

        private string Hash => hash;

        private const string RedeemWrite =
            """
            UPDATE tokens SET redeemed_at = @now, lease_until = @leaseUntil
            WHERE hash = @hash AND session_hash = @session AND revoked = 0 AND redeemed_at IS NULL AND expires_at > @now
            """;

        private const string Redeem = RedeemWrite + "\nRETURNING user_id, couple_ids, media_type, action, options";

        /// <summary>
        /// SQLite: the redeeming UPDATE names the token it redeemed (no temporary table for a RETURNING clause's rows,
        /// see <see cref="KeyOnlyWrite"/>), and the token's row is read back right after it, in the same transaction.
        /// </summary>
        private static readonly KeyOnlyWrite RedeemKeyOnly = new(RedeemWrite, "hash");

        private const string ReadBack = "SELECT user_id, couple_ids, media_type, action, options FROM tokens WHERE hash = @hash";

        private bool _won;

        /// <summary>
        /// PostgreSQL: the redemption and its open record in one statement (one statement less per redemption for the
        /// server to bind and run); the record's couple ids are the token's, as stored.
        /// </summary>
        private const string RedeemAndRecord =
            """
            WITH won AS (
            UPDATE tokens SET redeemed_at = @now, lease_until = @leaseUntil
            WHERE hash = @hash AND session_hash = @session AND revoked = 0 AND redeemed_at IS NULL AND expires_at > @now
            RETURNING user_id, couple_ids, media_type, action, options),
            recorded AS (
            INSERT INTO audit (at, user_name, client, action, couple_ids, bytes, outcome, reason, prev_hash, hash, in_progress, chain_seq)
            SELECT @at, @User, @Client, @Action, won.couple_ids, @Bytes, @Outcome, @Reason, '', '', 1, NULL FROM won
            RETURNING seq)
            SELECT won.user_id, won.couple_ids, won.media_type, won.action, won.options, recorded.seq FROM won, recorded
            """;

        /// <summary>
        /// The statements that decide who redeems and read what the token was issued for, with what to do with each
        /// one's result: at most one request, on any node, wins a token's row. On PostgreSQL one statement that returns
        /// the row (and inserts the record); on SQLite the UPDATE, then the row read back when it redeemed the token.
        /// </summary>
        public IEnumerable<Step> Steps => recordsItself
            ? [new Step(Statement, WonAsync)]
            :
            [
                new Step(new(RedeemWrite + "\nRETURNING hash", ("now", now), ("leaseUntil", leaseUntil), ("hash", hash), ("session", session)) { KeyOnly = RedeemKeyOnly }, async reader => _won = await reader.ReadAsync()),
                new Step(new(ReadBack, ("hash", hash)), reader => _won ? WonAsync(reader) : Task.CompletedTask),
            ];

        /// <summary>The one statement that decides who redeems, on PostgreSQL.</summary>
        private Statement Statement => record is not null && recordsItself
            ? new(
                RedeemAndRecord,
                ("now", now),
                ("leaseUntil", leaseUntil),
                ("hash", hash),
                ("session", session),
                ("at", record.At.ToUnixTimeMilliseconds()),
                ("User", record.User),
                ("Client", record.Client),
                ("Action", record.Action),
                ("Bytes", record.Bytes),
                ("Outcome", record.Outcome),
                ("Reason", record.Reason))
            : new(Redeem, ("now", now), ("leaseUntil", leaseUntil), ("hash", hash), ("session", session));

        /// <summary>The audit record of a won redemption, as written in the same transaction.</summary>
        public AuditEntry? Entry { get; private set; }

        /// <summary>Whether <see cref="Entry"/> was inserted by the redeeming statement itself.</summary>
        public bool Recorded { get; private set; }

        /// <summary>
        /// The reads to run in the group's second pipeline (the one that writes), for a won redemption that asked for them.
        /// </summary>
        public PipelinedRead? Read { get; private set; }

        /// <summary>Whether a win asks for reads.</summary>
        public bool Reads => alsoRead is not null;

        public override void Reset()
        {
            base.Reset();
            _won = false;
            Entry = null;
            Recorded = false;
            Read = null;
        }

        /// <summary>Reads the token's row when this request won it (and, on PostgreSQL, the record's seq): what <see cref="Statement"/> returned, or the row read back after the key-only UPDATE (<see cref="Steps"/>).</summary>
        public async Task WonAsync(DbDataReader reader)
        {
            if (!await reader.ReadAsync())
            {
                return;
            }

            var row = new GrantRow
            {
                UserId = reader.GetInt64(0),
                CoupleIds = reader.GetString(1),
                MediaType = reader.GetInt64(2),
                Action = reader.GetString(3),
                Options = await reader.IsDBNullAsync(4) ? null : reader.GetString(4),
            };
            Entry = record is null ? null : record with { CoupleIds = row.CoupleIds };
            Recorded = Entry is not null && recordsItself;
            Result = (row, Recorded ? reader.GetInt64(5) : null, Recorded ? Entry : null);
            Read = alsoRead?.Invoke(row);
        }

        public void Record(long seq) => Result = (Result!.Value.Row, seq, Entry);
    }

    private sealed class Issue(string lockKey, Statement count, Func<bool, (IReadOnlyList<Statement> Rows, AuditEntry Record)> rows) : Work<bool>
    {
        protected override int Rank => 2;

        protected override int CompareWithin(Work other) => string.CompareOrdinal(lockKey, ((Issue)other).LockKey);

        private string LockKey => lockKey;

        public Statement Count => count;

        /// <summary>The rows to write once <see cref="Counted"/> has decided.</summary>
        public IReadOnlyList<Statement> Rows { get; private set; } = [];

        /// <summary>The audit record of that decision.</summary>
        public AuditEntry Record { get; private set; } = null!;

        public void Counted(bool counted)
        {
            Result = counted;
            (Rows, Record) = rows(counted);
        }
    }

    private sealed class Opening(AuditEntry opened) : Work<long>
    {
        protected override int Rank => 1;

        public AuditEntry Record => opened;

        protected override int CompareWithin(Work other) => 0;

        public void Recorded(long? seq) => Result = seq ?? throw new InvalidOperationException("the audit INSERT returned no seq");
    }

    private sealed class Completion(long seq, AuditEntry? opened, AuditEntry final) : Work<long>
    {
        private bool _closed;
        private bool _chained;

        protected override int Rank => 3;

        protected override int CompareWithin(Work other) => seq.CompareTo(((Completion)other).Seq);

        private long Seq => seq;

        /// <summary>Whether the closing UPDATE may chain the record: it was opened after <paramref name="youngSince"/>.</summary>
        public bool Chainable(DateTimeOffset youngSince) => opened is not null && opened.At > youngSince;

        /// <summary>The closing UPDATE, chaining the record when <paramref name="links"/> is taken and it is <see cref="Chainable"/>.</summary>
        public Statement Statement(InlineChain? links, DateTimeOffset youngSince)
        {
            _chained = links is not null && Chainable(youngSince);
            return _chained ? links!.Close(seq, opened!, final) : AuditLog.CloseStatement(seq, final);
        }

        public void Closed(long? closed)
        {
            _closed = closed is not null;
            if (!_closed && _chained)
            {
                // Its place in the chain is taken by the statements after it: this transaction must not commit.
                throw new ChainMovedException($"audit record {seq} was chained while its transfer ran");
            }

            Result = seq;
        }

        /// <summary>After the pipeline: a record that was chained already gets a closing record inserted.</summary>
        public async Task FinishAsync(DbConnection connection, DbTransaction tx, InlineChain? links)
        {
            if (!_closed)
            {
                Result = links is null
                    ? await AuditLog.InsertAsync(connection, tx, final, open: false)
                    : await StatementPipeline.ScalarAsync(connection, tx, links.Insert(final)) ?? throw new InvalidOperationException("the audit INSERT returned no seq");
            }
        }
    }

    /// <summary>A record a group meant to chain was chained by someone else: the group's transaction must not commit.</summary>
    private sealed class ChainMovedException(string message) : Exception(message);

    [LoggerMessage(EventId = 64, Level = LogLevel.Information, Message = "A group of {Count} delivery writes was chosen by the database to end a deadlock (run {Run}); it runs again")]
    private static partial void LogGroupDeadlocked(ILogger logger, int count, int run);

    [LoggerMessage(EventId = 63, Level = LogLevel.Information, Message = "The group commit's database connection broke before its commit (the database restarted?); the group runs again on a new one: {Reason}")]
    private static partial void LogGroupReconnected(ILogger logger, string reason);

    [LoggerMessage(EventId = 62, Level = LogLevel.Warning, Message = "A group of delivery writes found a record it meant to chain chained already; it runs again without the chain: {Reason}")]
    private static partial void LogChainedGroupFailed(ILogger logger, string reason);
}

using System.Data.Common;
using CallMedia.Data;

namespace CallMedia.Audit;

/// <summary>
/// The audit chain taken by a writer's own transaction (the group commit's), so the records it writes closed join
/// the chain in the same statement that writes them: no later read, hash and UPDATE of each by the chainer, and no
/// transaction of its own holding the write lock while requests wait. The chain is taken as the chainer takes it
/// (<see cref="Database.LockAuditChainAsync"/>), but without waiting: on PostgreSQL, when another node holds it, the
/// transaction writes its records unchained and the chainer links them later, as before. Records join the chain in
/// the order their statements are made here, all committed by that one transaction.
/// </summary>
public sealed class InlineChain
{
    private long _seq;
    private string _hash;

    private InlineChain(long seq, string hash)
    {
        _seq = seq;
        _hash = hash;
    }

    /// <summary>
    /// The statements that take the chain inside a transaction and read its head, to run in that transaction's own
    /// pipeline (no round trip of their own); once read, <see cref="Taking.Chain"/>. The chain stays taken until the
    /// transaction ends.
    /// </summary>
    public static Taking Take(Database db) => new(db);

    /// <summary>Taking the chain: <see cref="Chain"/> is null until read, and when another transaction holds it.</summary>
    public sealed class Taking : PipelinedRead
    {
        private const string Head = "SELECT chain_seq, hash FROM audit WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1";

        private bool _held = true;
        private InlineChain? _chain;

        internal Taking(Database db) =>
            Statements = db.TryLockAuditChainStatement() is { } tryLock ? [tryLock, new Statement(Head)] : [new Statement(Head)];

        public override IReadOnlyList<Statement> Statements { get; }

        public InlineChain? Chain => Done && _held ? _chain : null;

        protected override async Task ReadResultAsync(int index, DbDataReader reader)
        {
            if (index < Statements.Count - 1)
            {
                _held = await reader.ReadAsync() && reader.GetBoolean(0);
            }
            else
            {
                _chain = await reader.ReadAsync() ? new InlineChain(reader.GetInt64(0), reader.GetString(1)) : new InlineChain(0, AuditLog.Genesis);
            }
        }
    }

    /// <summary>The INSERT of a closed record, chained after the last one linked here; it returns the record's seq.</summary>
    public Statement Insert(AuditEntry e) => AuditLog.InsertStatement(e, open: false, Link(e, e.Bytes, e.Outcome));

    /// <summary>
    /// Closes the open record <paramref name="seq"/>, written as <paramref name="opened"/>, with the bytes and outcome
    /// of <paramref name="final"/>, and chains it, in one UPDATE; it returns the seq, or no row when the record was
    /// chained already as it stood (then this chain no longer matches the table: the transaction must not commit).
    /// </summary>
    public Statement Close(long seq, AuditEntry opened, AuditEntry final)
    {
        var (chainSeq, prev, hash) = Link(opened, final.Bytes, final.Outcome);
        return new Statement(
            CloseWrite + "\nRETURNING seq",
            ("Bytes", final.Bytes),
            ("Outcome", final.Outcome),
            ("chainSeq", chainSeq),
            ("prev", prev),
            ("hash", hash),
            ("seq", seq))
        {
            KeyOnly = CloseKeyOnly,
        };
    }

    private const string CloseWrite =
        """
        UPDATE audit SET bytes = @Bytes, outcome = @Outcome, in_progress = 0, chain_seq = @chainSeq, prev_hash = @prev, hash = @hash
        WHERE seq = @seq AND chain_seq IS NULL
        """;

    /// <summary>On SQLite without its RETURNING clause: the seq it closed when it changed a row (<see cref="KeyOnlyWrite"/>).</summary>
    private static readonly KeyOnlyWrite CloseKeyOnly = new(CloseWrite, "seq");

    /// <summary>The next place in the chain for a record stored as <paramref name="e"/> with these bytes and outcome.</summary>
    private (long ChainSeq, string Prev, string Hash) Link(AuditEntry e, long? bytes, string outcome)
    {
        var prev = _hash;
        _hash = AuditLog.ChainHash(prev, e.At.ToUnixTimeMilliseconds(), e.User, e.Client, e.Action, e.CoupleIds, bytes, outcome, e.Reason);
        return (++_seq, prev, _hash);
    }
}

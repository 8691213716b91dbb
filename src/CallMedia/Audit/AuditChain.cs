using System.Globalization;
using System.Text;
using CallMedia.Data;
using CallMedia.Hosting;
using Dapper;

namespace CallMedia.Audit;

/// <summary>
/// The result of walking the chain: how far it is intact, the first broken link if any, and how many records are
/// written but not chained yet (pending: a transfer still running, or waiting for the chainer; not a failure).
/// </summary>
public sealed record ChainReport(long Records, long? HeadSeq, string HeadHash, long? BrokenAt, string? Problem, long Pending = 0);

/// <summary>Verifies and exports the audit log (API.md §7).</summary>
public sealed class AuditChain(Database db)
{
    private const int Page = 5000;

    public sealed class AuditRow
    {
        public long Seq { get; set; }

        public long At { get; set; }

        public string? UserName { get; set; }

        public string? Client { get; set; }

        public string Action { get; set; } = "";

        public string? CoupleIds { get; set; }

        public long? Bytes { get; set; }

        public string Outcome { get; set; } = "";

        public string? Reason { get; set; }

        public string PrevHash { get; set; } = "";

        public string Hash { get; set; } = "";

        /// <summary>The record's place in the chain; null while pending.</summary>
        public long? ChainSeq { get; set; }

        /// <summary>1 while the transfer it records is running.</summary>
        public long InProgress { get; set; }
    }

    /// <summary>
    /// Walks the chain in chain order and recomputes every record's hash from its fields and the previous record's hash. An edited record fails its
    /// own hash; a deleted or inserted one breaks the link of the next. Removing records at the end leaves a
    /// valid shorter chain, which <paramref name="anchor"/> (a seq and hash noted earlier) detects.
    /// </summary>
    public async Task<ChainReport> VerifyAsync((long Seq, string Hash)? anchor, CancellationToken ct = default)
    {
        var prev = AuditLog.Genesis;
        long? headSeq = null;
        long count = 0;
        var anchorSeen = false;
        await foreach (var row in RowsAsync(null, null, chained: true, ct))
        {
            count++;
            if (!string.Equals(row.PrevHash, prev, StringComparison.Ordinal))
            {
                return new ChainReport(count - 1, headSeq, prev, row.Seq, "does not link to the record before it (a record was removed, inserted or reordered)");
            }

            var expected = AuditLog.ChainHash(prev, row.At, row.UserName, row.Client, row.Action, row.CoupleIds, row.Bytes, row.Outcome, row.Reason);
            if (!string.Equals(row.Hash, expected, StringComparison.Ordinal))
            {
                return new ChainReport(count - 1, headSeq, prev, row.Seq, "its fields do not match its hash (the record was edited)");
            }

            if (anchor is { } a && a.Seq == row.Seq)
            {
                if (!string.Equals(a.Hash, row.Hash, StringComparison.OrdinalIgnoreCase))
                {
                    return new ChainReport(count, row.Seq, row.Hash, row.Seq, "does not carry the anchored hash (the chain was rewritten)");
                }

                anchorSeen = true;
            }

            prev = row.Hash;
            headSeq = row.Seq;
        }

        if (anchor is { } missing && !anchorSeen)
        {
            return new ChainReport(count, headSeq, prev, missing.Seq, "the anchored record is gone (records were removed from the end)");
        }

        long pending;
        await using (var connection = await db.OpenAsync(ct))
        {
            // Closed and open apart, each counted in its own partial index (in_progress is 0 or 1), not over the table.
            pending = await connection.ExecuteScalarAsync<long>(
                """
                SELECT (SELECT COUNT(*) FROM audit WHERE chain_seq IS NULL AND in_progress = 0)
                     + (SELECT COUNT(*) FROM audit WHERE chain_seq IS NULL AND in_progress = 1)
                """);
        }

        return new ChainReport(count, headSeq, prev, null, null, pending);
    }

    public const string CsvHeader = "seq,time_utc,user,client,action,couple_ids,bytes,outcome,prev_hash,hash,reason";

    /// <summary>
    /// Writes records between two times as CSV (RFC 4180), header first, in seq order; a record not chained yet has
    /// <c>pending</c> for its hash and an empty prev_hash.
    /// </summary>
    public async Task ExportCsvAsync(TextWriter output, DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct = default)
    {
        await output.WriteLineAsync(CsvHeader);
        await foreach (var r in RowsAsync(from, to, chained: false, ct))
        {
            await output.WriteLineAsync(CsvLine(r));
        }
    }

    /// <summary>One record as a CSV line (spreadsheet-safe: a field a spreadsheet would evaluate is quoted as text).</summary>
    public static string CsvLine(AuditRow r)
    {
        var time = DateTimeOffset.FromUnixTimeMilliseconds(r.At).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        string[] fields = [r.Seq.ToString(CultureInfo.InvariantCulture), time, r.UserName ?? "", r.Client ?? "", r.Action, r.CoupleIds ?? "", r.Bytes?.ToString(CultureInfo.InvariantCulture) ?? "", r.Outcome, r.PrevHash, r.ChainSeq is null ? "pending" : r.Hash, r.Reason ?? ""];
        return string.Join(',', fields.Select(Csv));
    }

    private static string Csv(string field)
    {
        var text = SpreadsheetText.Defuse(field);
        if (text == field && field.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            return field;
        }

        return new StringBuilder("\"").Append(text.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"').ToString();
    }

    /// <summary>Chained records in chain order, or every record in seq order.</summary>
    private async IAsyncEnumerable<AuditRow> RowsAsync(DateTimeOffset? from, DateTimeOffset? to, bool chained, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var order = chained ? "chain_seq" : "seq";
        var after = long.MinValue;
        var fromMs = from?.ToUnixTimeMilliseconds() ?? long.MinValue;
        var toMs = to?.ToUnixTimeMilliseconds() ?? long.MaxValue;
        while (true)
        {
            List<AuditRow> page;
            await using (var connection = await db.OpenAsync(ct))
            {
                page = (await connection.QueryAsync<AuditRow>(
                    $"""
                    SELECT seq, at, user_name, client, action, couple_ids, bytes, outcome, reason, prev_hash, hash, chain_seq, in_progress FROM audit
                    WHERE {order} > @after AND at >= @fromMs AND at < @toMs ORDER BY {order} LIMIT @Page
                    """,
                    new { after, fromMs, toMs, Page })).ToList();
            }

            foreach (var row in page)
            {
                yield return row;
            }

            if (page.Count < Page)
            {
                yield break;
            }

            after = chained ? page[^1].ChainSeq!.Value : page[^1].Seq;
        }
    }
}

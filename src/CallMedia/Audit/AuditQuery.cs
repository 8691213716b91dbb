using System.Text;
using CallMedia.Data;
using Dapper;

namespace CallMedia.Audit;

/// <summary>Which audit records to read; every filter is optional. <see cref="BeforeSeq"/> pages newest first.</summary>
public sealed record AuditFilter(
    string? User = null,
    long? CoupleId = null,
    string? Action = null,
    DateTimeOffset? From = null,
    DateTimeOffset? To = null,
    long? BeforeSeq = null,
    int Limit = 50);

/// <summary>Reads audit records by user, couple, action and time, newest first (the admin API and a call's access list).</summary>
public sealed class AuditQuery(Database db)
{
    public async Task<IReadOnlyList<AuditChain.AuditRow>> ListAsync(AuditFilter filter, CancellationToken ct = default)
    {
        var sql = new StringBuilder("SELECT seq, at, user_name, client, action, couple_ids, bytes, outcome, reason, prev_hash, hash, chain_seq FROM audit WHERE 1 = 1");
        var args = new DynamicParameters();
        if (filter.User is { } user)
        {
            sql.Append(" AND user_name = @user");
            args.Add("user", user);
        }

        if (filter.CoupleId is { } couple)
        {
            // couple_ids is a comma-separated list: match one whole item of it.
            sql.Append(" AND (',' || couple_ids || ',') LIKE @couple");
            args.Add("couple", $"%,{couple},%");
        }

        if (filter.Action is { } action)
        {
            sql.Append(" AND action = @action");
            args.Add("action", action);
        }

        if (filter.From is { } from)
        {
            sql.Append(" AND at >= @from");
            args.Add("from", from.ToUnixTimeMilliseconds());
        }

        if (filter.To is { } to)
        {
            sql.Append(" AND at < @to");
            args.Add("to", to.ToUnixTimeMilliseconds());
        }

        if (filter.BeforeSeq is { } before)
        {
            sql.Append(" AND seq < @before");
            args.Add("before", before);
        }

        sql.Append(" ORDER BY seq DESC LIMIT @limit");
        args.Add("limit", filter.Limit);
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<AuditChain.AuditRow>(sql.ToString(), args)).ToList();
    }
}

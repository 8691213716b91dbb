using System.Text;
using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Data;
using Dapper;

namespace CallMedia.Api;

/// <summary>The filters of <c>GET /api/v1/calls</c>, parsed and checked.</summary>
public sealed record CallQuery(
    DateTimeOffset? From,
    DateTimeOffset? To,
    string? Number,
    string? Name,
    string? Sid,
    string? Has,
    double? MinDuration,
    double? MaxDuration,
    int Limit,
    string? Cursor);

/// <summary>
/// Runs a call search for a user: only couples in the user's scope, newest first, one page, with a keyset cursor
/// that names the last row returned. Numbers match either party exactly or as a prefix; names match either party
/// case-insensitively as a substring.
/// </summary>
public sealed class CallSearchAdapter(Database db)
{
    private const string CursorKind = "calls1";

    public async Task<(IReadOnlyList<Couple> Items, string? Next)> SearchAsync(UserAccess user, CallQuery q, CancellationToken ct)
    {
        var sql = new StringBuilder("SELECT id, sid, start_at, stop_at, calling_number, calling_name, called_number, called_name, types FROM couples WHERE 1 = 1");
        var args = new DynamicParameters();
        if (!user.ScopeAll)
        {
            sql.Append($" AND ({db.In("calling_number", "scope")} OR {db.In("called_number", "scope")})");
            args.Add("scope", user.Numbers.ToArray());
        }

        if (q.From is { } from)
        {
            sql.Append(" AND start_at >= @from");
            args.Add("from", from.ToUnixTimeMilliseconds());
        }

        if (q.To is { } to)
        {
            sql.Append(" AND start_at < @to");
            args.Add("to", to.ToUnixTimeMilliseconds());
        }

        if (q.Number is { } number)
        {
            sql.Append(" AND (calling_number LIKE @number ESCAPE '\\' OR called_number LIKE @number ESCAPE '\\')");
            args.Add("number", EscapeLike(number) + "%");
        }

        if (q.Name is { } name)
        {
            sql.Append(" AND (LOWER(calling_name) LIKE @name ESCAPE '\\' OR LOWER(called_name) LIKE @name ESCAPE '\\')");
            args.Add("name", "%" + EscapeLike(name.ToLowerInvariant()) + "%");
        }

        if (q.Sid is { } sid)
        {
            sql.Append(" AND sid = @sid");
            args.Add("sid", sid);
        }

        sql.Append(q.Has switch
        {
            "audio" => " AND (types & 1) <> 0",
            "video" => " AND (types & 16) <> 0",
            "unmixed" => " AND (types & 32) <> 0 AND (types & 16) = 0",
            _ => "",
        });
        if (q.MinDuration is { } min)
        {
            sql.Append(" AND stop_at - start_at >= @min");
            args.Add("min", (long)(min * 1000));
        }

        if (q.MaxDuration is { } max)
        {
            sql.Append(" AND stop_at - start_at <= @max");
            args.Add("max", (long)(max * 1000));
        }

        if (q.Cursor is { } cursor)
        {
            var key = ApiCursor.Read(CursorKind, cursor, 2);
            var (start, id) = (key[0], key[1]);
            sql.Append(" AND (start_at < @cs OR (start_at = @cs AND id < @ci))");
            args.Add("cs", start);
            args.Add("ci", id);
        }

        sql.Append(" ORDER BY start_at DESC, id DESC LIMIT @take");
        args.Add("take", q.Limit + 1);
        List<Couple> rows;
        await using (var connection = await db.OpenAsync(ct))
        {
            rows = (await connection.QueryAsync<Couple>(sql.ToString(), args)).ToList();
        }

        if (rows.Count <= q.Limit)
        {
            return (rows, null);
        }

        rows.RemoveAt(rows.Count - 1);
        return (rows, ApiCursor.Write(CursorKind, rows[^1].StartAt, rows[^1].Id));
    }

    private static string EscapeLike(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);
}

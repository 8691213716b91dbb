using System.Globalization;
using System.Text;
using CallMedia.Audit;
using CallMedia.Auth;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMedia.Api;

/// <summary>The audit log for administrators: records by user, call, action and time; the chain check; a CSV export.</summary>
public static class AuditApi
{
    public static void MapAuditApi(this RouteGroupBuilder api)
    {
        api.MapGet("/audit", ListAsync).WithSummary("Audit records, newest first (admin).");
        api.MapGet("/audit/verify", VerifyAsync).WithSummary("Walk the hash chain (admin).");
        api.MapGet("/audit.csv", CsvAsync)
            .Produces<string>(StatusCodes.Status200OK, "text/csv")
            .WithSummary("Audit records as CSV, spreadsheet-safe, with the same filters (admin).");
    }

    public static async Task<Results<Ok<AuditPage>, ProblemHttpResult>> ListAsync(
        HttpContext context, AuditQuery audit, string? user = null, string? call = null, string? action = null, string? from = null, string? to = null, string? limit = null, string? cursor = null)
    {
        if (!IsAdmin(context))
        {
            return AdminOnly();
        }

        var take = ApiInput.Limit(limit);
        var filter = Filter(user, call, action, from, to) with { Limit = take + 1, BeforeSeq = string.IsNullOrEmpty(cursor) ? null : ApiCursor.Read("audit1", cursor, 1)[0] };
        var rows = (await audit.ListAsync(filter, context.RequestAborted)).ToList();
        string? next = null;
        if (rows.Count > take)
        {
            rows.RemoveAt(rows.Count - 1);
            next = ApiCursor.Write("audit1", rows[^1].Seq);
        }

        return TypedResults.Ok(new AuditPage { Items = rows.Select(ToRecord).ToList(), Next = next });
    }

    public static async Task<Results<Ok<AuditVerification>, ProblemHttpResult>> VerifyAsync(HttpContext context, AuditChain chain)
    {
        if (!IsAdmin(context))
        {
            return AdminOnly();
        }

        var report = await chain.VerifyAsync(null, context.RequestAborted);
        return TypedResults.Ok(new AuditVerification
        {
            Ok = report.BrokenAt is null,
            Records = report.Records,
            Head = report.HeadSeq is { } seq ? string.Create(CultureInfo.InvariantCulture, $"{seq}:{report.HeadHash}") : null,
            FirstBad = report.BrokenAt is { } bad ? new AuditBreak { Seq = bad, Problem = report.Problem ?? "" } : null,
        });
    }

    public static async Task<Results<FileContentHttpResult, ProblemHttpResult>> CsvAsync(
        HttpContext context, AuditQuery audit, string? user = null, string? call = null, string? action = null, string? from = null, string? to = null, string? limit = null)
    {
        if (!IsAdmin(context))
        {
            return AdminOnly();
        }

        var rows = await audit.ListAsync(Filter(user, call, action, from, to) with { Limit = ApiInput.Limit(limit, 100_000, 100_000) }, context.RequestAborted);
        var csv = new StringBuilder(AuditChain.CsvHeader).Append("\r\n");
        foreach (var row in rows.Reverse())
        {
            csv.Append(AuditChain.CsvLine(row)).Append("\r\n");
        }

        return TypedResults.File(Encoding.UTF8.GetBytes(csv.ToString()), "text/csv; charset=utf-8", "audit.csv");
    }

    private static bool IsAdmin(HttpContext context) => ApiCaller.Of(context).User.Has(Rights.Admin);

    private static ProblemHttpResult AdminOnly() => ApiProblems.Forbidden("The audit log needs the right admin.");

    private static AuditFilter Filter(string? user, string? call, string? action, string? from, string? to)
    {
        long? couple = null;
        if (!string.IsNullOrEmpty(call))
        {
            couple = ApiInput.Id(call) ?? throw new ApiInputException("call must be a call id (a positive integer).", "call");
        }

        var (start, end) = (ApiInput.Time(from, "from", null), ApiInput.Time(to, "to", null));
        if (start > end)
        {
            throw new ApiInputException("from is after to.", "from");
        }

        return new AuditFilter(string.IsNullOrEmpty(user) ? null : user, couple, string.IsNullOrEmpty(action) ? null : action, start, end);
    }

    private static AuditRecord ToRecord(AuditChain.AuditRow r) => new()
    {
        Seq = r.Seq,
        At = DateTimeOffset.FromUnixTimeMilliseconds(r.At),
        User = r.UserName,
        Client = r.Client,
        Action = r.Action,
        CoupleIds = (r.CoupleIds ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : 0).Where(id => id > 0).ToList(),
        Bytes = r.Bytes,
        Outcome = r.Outcome,
        Reason = r.Reason,
    };
}

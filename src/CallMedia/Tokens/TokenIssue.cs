using CallMedia.Audit;
using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Hosting;

namespace CallMedia.Tokens;

public enum IssueResult
{
    Issued,
    NotFound,
    Forbidden,
    RateLimited,

    /// <summary>The couple's media cannot be delivered as the options ask (422; the outcome's message says why).</summary>
    Unprocessable,
}

/// <summary>What a token request came to: the token when issued, and the couples it named.</summary>
public sealed record IssueOutcome(IssueResult Result, string? Token, IReadOnlyList<long> CoupleIds, string? Message = null);

/// <summary>
/// Issuing a token for parsed criteria, shared by the CallREC Download Token Service and the JSON API: rights and
/// scope (a limited scope never learns whether a couple exists), the per-session window, the audit record.
/// </summary>
public sealed class TokenIssue(CallStore calls, CoupleAccess access, TokenService tokens, RequestAudit audit, CallMediaMetrics metrics)
{
    /// <param name="context">The request.</param>
    /// <param name="caller">Who asks.</param>
    /// <param name="criteria">What for.</param>
    /// <param name="reason">Why (JSON API), audited.</param>
    /// <param name="options">Delivery options stored with the token (JSON), or null.</param>
    /// <param name="vet">Checks the options against the couples once access is granted: null, or why they cannot be honoured.</param>
    public async Task<IssueOutcome> IssueAsync(
        HttpContext context, Caller caller, TokenCriteria criteria, string? reason = null, string? options = null, Func<IReadOnlyList<long>, CancellationToken, Task<string?>>? vet = null)
    {
        var ct = context.RequestAborted;
        var ids = criteria.CoupleIds;
        if (criteria.Sid is { } sid)
        {
            var id = await calls.FindIdBySidAsync(sid, ct);
            ids = id is null ? [] : [id.Value];
        }

        AuditEntry Record(string outcome) =>
            audit.Entry(context, caller.Name, $"token.{TokenCriteria.ActionName(criteria.Action)}", outcome, string.Join(',', ids)) with { Reason = reason };

        switch ((await access.CheckAsync(caller.User, criteria.RequiredRight, ids, ct)).Verdict)
        {
            case AccessVerdict.NotFound:
                await audit.WriteAsync(Record("not-found"));
                return new IssueOutcome(IssueResult.NotFound, null, ids);
            case AccessVerdict.Forbidden:
                await audit.WriteAsync(Record("forbidden"));
                return new IssueOutcome(IssueResult.Forbidden, null, ids);
        }

        if (vet is not null && await vet(ids, ct) is { } unprocessable)
        {
            await audit.WriteAsync(Record("unprocessable"));
            return new IssueOutcome(IssueResult.Unprocessable, null, ids, unprocessable);
        }

        // The token and its audit record are written in one transaction; a full window writes a rate-limited record.
        // The options are written in the token's own row, in the same group commit.
        var token = await tokens.IssueWithinWindowAsync(caller.Session, ids, criteria.Type, criteria.Action, Record, options, ct);
        if (token is null)
        {
            return new IssueOutcome(IssueResult.RateLimited, null, ids);
        }

        metrics.TokenIssued();
        return new IssueOutcome(IssueResult.Issued, token, ids);
    }
}

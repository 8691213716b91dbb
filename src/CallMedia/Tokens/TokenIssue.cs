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
}

/// <summary>What a token request came to: the token when issued, and the couples it named.</summary>
public sealed record IssueOutcome(IssueResult Result, string? Token, IReadOnlyList<long> CoupleIds);

/// <summary>
/// Issuing a token for parsed criteria, shared by the CallREC Download Token Service and the JSON API: rights and
/// scope (a limited scope never learns whether a couple exists), the per-session window, the audit record.
/// </summary>
public static class TokenIssue
{
    public static async Task<IssueOutcome> IssueAsync(HttpContext context, SessionInfo session, UserAccess user, TokenCriteria criteria, string? reason = null)
    {
        var services = context.RequestServices;
        var audit = services.GetRequiredService<AuditLog>();
        var clock = services.GetRequiredService<TimeProvider>();
        var tokens = services.GetRequiredService<TokenService>();
        var ct = context.RequestAborted;
        var ids = criteria.CoupleIds;
        if (criteria.Sid is { } sid)
        {
            var id = await services.GetRequiredService<CallStore>().FindIdBySidAsync(sid, ct);
            ids = id is null ? [] : [id.Value];
        }

        IssueOutcome Done(IssueResult result, string outcome, string? token = null)
        {
            audit.Write(new AuditEntry(clock.GetUtcNow(), user.Name, context.ClientAddress(), $"token.{TokenCriteria.ActionName(criteria.Action)}", string.Join(',', ids), null, outcome, reason));
            return new IssueOutcome(result, token, ids);
        }

        var verdict = ids.Count == 0
            ? (user.Has(criteria.RequiredRight) && user.ScopeAll ? AccessVerdict.NotFound : AccessVerdict.Forbidden)
            : (await services.GetRequiredService<CoupleAccess>().CheckAsync(user, criteria.RequiredRight, ids, ct)).Verdict;
        switch (verdict)
        {
            case AccessVerdict.NotFound:
                return Done(IssueResult.NotFound, "not-found");
            case AccessVerdict.Forbidden:
                return Done(IssueResult.Forbidden, "forbidden");
        }

        if (!await services.GetRequiredService<SessionService>().TryCountTokenAsync(session, services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TokenOptions>>().Value.MaxPerSessionPerMinute, ct))
        {
            return Done(IssueResult.RateLimited, "rate-limited");
        }

        var token = await tokens.IssueAsync(session, ids, criteria.Type, criteria.Action, ct);
        services.GetRequiredService<CallMediaMetrics>().TokenIssued();
        return Done(IssueResult.Issued, "issued", token);
    }
}

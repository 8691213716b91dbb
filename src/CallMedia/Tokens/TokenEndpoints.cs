using CallMedia.Audit;
using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Hosting;
using Microsoft.Extensions.Options;

namespace CallMedia.Tokens;

/// <summary>Download Token Service (API.md §2).</summary>
public static class TokenEndpoints
{
    public static void MapTokenEndpoints(this RouteGroupBuilder group) =>
        group.MapMethods("/downloadtoken", ["GET", "POST"], IssueAsync);

    private static async Task<IResult> IssueAsync(
        HttpContext context, SessionService sessions, UserStore users, CallStore calls, CoupleAccess access, TokenService tokens, AuditLog audit, TimeProvider clock, IOptions<TokenOptions> options)
    {
        var ct = context.RequestAborted;
        var session = await sessions.ResolveAsync(context.SessionCandidate(), ct);
        if (session is null)
        {
            return CallRecResults.SignInRedirect(context);
        }

        var user = await users.LoadAccessAsync(session.UserId, ct);
        if (user is null)
        {
            return CallRecResults.SignInRedirect(context);
        }

        TokenCriteria criteria;
        try
        {
            criteria = TokenCriteria.Parse(await CallRecParameters.ReadAsync(context.Request), options.Value.MaxIdsPerToken);
        }
        catch (ParameterException ex)
        {
            return CallRecResults.Error(StatusCodes.Status400BadRequest, ErrorNumbers.BadRequest, ex.Message);
        }

        var ids = criteria.CoupleIds;
        if (criteria.Sid is { } sid)
        {
            var id = await calls.FindIdBySidAsync(sid, ct);
            ids = id is null ? [] : [id.Value];
        }

        AuditEntry Record(string outcome) =>
            new(clock.GetUtcNow(), user.Name, context.ClientAddress(), $"token.{TokenCriteria.ActionName(criteria.Action)}", string.Join(',', ids), null, outcome);

        var verdict = ids.Count == 0
            ? (user.Has(criteria.RequiredRight) && user.ScopeAll ? AccessVerdict.NotFound : AccessVerdict.Forbidden)
            : (await access.CheckAsync(user, criteria.RequiredRight, ids, ct)).Verdict;
        switch (verdict)
        {
            case AccessVerdict.NotFound:
                await audit.WriteAsync(Record("not-found"));
                return CallRecResults.Error(StatusCodes.Status404NotFound, ErrorNumbers.NotFound, "No such couple.");
            case AccessVerdict.Forbidden:
                await audit.WriteAsync(Record("forbidden"));
                return CallRecResults.Error(StatusCodes.Status403Forbidden, ErrorNumbers.Forbidden, "Access to the requested media is not allowed.");
        }

        var token = await tokens.IssueWithinWindowAsync(session, ids, criteria.Type, criteria.Action, Record, ct);
        if (token is null)
        {
            return TooManyTokens(context);
        }

        context.RequestServices.GetRequiredService<Operations.CallMediaMetrics>().TokenIssued();
        return CallRecResults.Reply(token);
    }

    /// <summary>429 for a session whose token window is full (API.md §2).</summary>
    public static IResult TooManyTokens(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "60";
        return CallRecResults.Error(StatusCodes.Status429TooManyRequests, ErrorNumbers.TooMany, "Too many tokens for this session in the last minute; retry later.");
    }
}

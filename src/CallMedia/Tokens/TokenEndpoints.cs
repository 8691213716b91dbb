using CallMedia.Audit;
using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace CallMedia.Tokens;

/// <summary>Download Token Service (API.md §2).</summary>
public static class TokenEndpoints
{
    public static void MapTokenEndpoints(this RouteGroupBuilder group) =>
        group.MapMethods("/downloadtoken", ["GET", "POST"], IssueAsync);

    /// <summary>200 <c>&lt;reply&gt;</c>; 302 without a live session; 400, 403, 404 (scope all only) or 429 as a framed error.</summary>
    private static async Task<Results<CallRecXml, CallRecError, SignInRedirect>> IssueAsync(
        HttpContext context, Callers callers, SessionService sessions, CallStore calls, CoupleAccess access, TokenService tokens, RequestAudit audit, CallMediaMetrics metrics, IOptions<TokenOptions> options)
    {
        var ct = context.RequestAborted;
        var caller = await callers.ResolveAsync(context);
        if (caller is null)
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
            audit.Entry(context, caller.Name, $"token.{TokenCriteria.ActionName(criteria.Action)}", outcome, string.Join(',', ids));

        switch ((await access.CheckAsync(caller.User, criteria.RequiredRight, ids, ct)).Verdict)
        {
            case AccessVerdict.NotFound:
                await audit.WriteAsync(Record("not-found"));
                return CallRecResults.Error(StatusCodes.Status404NotFound, ErrorNumbers.NotFound, "No such couple.");
            case AccessVerdict.Forbidden:
                await audit.WriteAsync(Record("forbidden"));
                return CallRecResults.Error(StatusCodes.Status403Forbidden, ErrorNumbers.Forbidden, "Access to the requested media is not allowed.");
        }

        var token = await tokens.IssueWithinWindowAsync(caller.Session, ids, criteria.Type, criteria.Action, Record, ct);
        if (token is null)
        {
            return TooManyTokens(context);
        }

        metrics.TokenIssued();
        return CallRecResults.Reply(token);
    }

    /// <summary>429 for a session whose token window is full (API.md §2).</summary>
    public static CallRecError TooManyTokens(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "60";
        return CallRecResults.Error(StatusCodes.Status429TooManyRequests, ErrorNumbers.TooMany, "Too many tokens for this session in the last minute; retry later.");
    }
}

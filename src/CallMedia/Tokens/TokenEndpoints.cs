using CallMedia.Auth;
using CallMedia.Hosting;
using Microsoft.Extensions.Options;

namespace CallMedia.Tokens;

/// <summary>Download Token Service (API.md §2).</summary>
public static class TokenEndpoints
{
    public static void MapTokenEndpoints(this RouteGroupBuilder group) =>
        group.MapMethods("/downloadtoken", ["GET", "POST"], IssueAsync);

    private static async Task<IResult> IssueAsync(
        HttpContext context, SessionService sessions, UserStore users, IOptions<TokenOptions> options)
    {
        var ct = context.RequestAborted;
        var session = await sessions.ResolveRequestAsync(context);
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

        var outcome = await TokenIssue.IssueAsync(context, session, user, criteria);
        switch (outcome.Result)
        {
            case IssueResult.NotFound:
                return CallRecResults.Error(StatusCodes.Status404NotFound, ErrorNumbers.NotFound, "No such couple.");
            case IssueResult.Forbidden:
                return CallRecResults.Error(StatusCodes.Status403Forbidden, ErrorNumbers.Forbidden, "Access to the requested media is not allowed.");
            case IssueResult.RateLimited:
                context.Response.Headers.RetryAfter = "60";
                return CallRecResults.Error(StatusCodes.Status429TooManyRequests, ErrorNumbers.TooMany, "Too many tokens for this session in the last minute; retry later.");
        }

        return CallRecResults.Reply(outcome.Token!);
    }
}

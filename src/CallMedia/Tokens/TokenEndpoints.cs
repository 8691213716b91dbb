using CallMedia.Auth;
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
        HttpContext context, Callers callers, TokenIssue issue, IOptions<TokenOptions> options, ITokenExtrasReader extrasReader)
    {
        var caller = await callers.ResolveAsync(context);
        if (caller is null)
        {
            return CallRecResults.SignInRedirect(context);
        }

        TokenCriteria criteria;
        TokenExtras extras;
        try
        {
            var parameters = await CallRecParameters.ReadAsync(context.Request);
            criteria = TokenCriteria.Parse(parameters, options.Value.MaxIdsPerToken);
            extras = extrasReader.Read(parameters, criteria);
        }
        catch (ParameterException ex)
        {
            return CallRecResults.Error(StatusCodes.Status400BadRequest, ErrorNumbers.BadRequest, ex.Message);
        }

        var outcome = await issue.IssueAsync(context, caller, criteria, null, extras.Options, extras.Vet);
        switch (outcome.Result)
        {
            case IssueResult.NotFound:
                return CallRecResults.Error(StatusCodes.Status404NotFound, ErrorNumbers.NotFound, "No such couple.");
            case IssueResult.Forbidden:
                return CallRecResults.Error(StatusCodes.Status403Forbidden, ErrorNumbers.Forbidden, "Access to the requested media is not allowed.");
            case IssueResult.RateLimited:
                return TooManyTokens(context);
            case IssueResult.Unprocessable:
                return CallRecResults.Error(StatusCodes.Status422UnprocessableEntity, ErrorNumbers.PrepareFailed, outcome.Message!);
        }

        return CallRecResults.Reply(outcome.Token!);
    }

    /// <summary>429 for a session whose token window is full (API.md §2).</summary>
    public static CallRecError TooManyTokens(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "60";
        return CallRecResults.Error(StatusCodes.Status429TooManyRequests, ErrorNumbers.TooMany, "Too many tokens for this session in the last minute; retry later.");
    }
}

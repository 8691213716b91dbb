using CallMedia.Audit;
using CallMedia.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMedia.Auth;

/// <summary>Log In Service (API.md §1) and logout.</summary>
public static class LoginEndpoints
{
    public static void MapLoginEndpoints(this RouteGroupBuilder group)
    {
        group.MapMethods("/loginservlet", ["GET", "POST"], LogInAsync);
        group.MapPost("/logout", LogOutAsync);
    }

    /// <summary>200: <c>&lt;ok sessionid=..&gt;</c> with the cookie, or <c>&lt;error number="2"&gt;</c> (API.md §1); 429 with <c>Retry-After</c> while throttled.</summary>
    private static async Task<Results<CallRecXml, CallRecError>> LogInAsync(HttpContext context, CancellationToken ct)
    {
        string? name;
        string? password;
        try
        {
            var p = await CallRecParameters.ReadAsync(context.Request);
            name = p.One("loginname");
            password = p.One("password");
        }
        catch (ParameterException)
        {
            name = null;
            password = null;
        }

        var outcome = await SignIn.AttemptAsync(context, name, password);
        if (outcome.Result == SignInResult.Throttled)
        {
            var seconds = (long)Math.Ceiling(Math.Max(outcome.RetryAfter!.Value.TotalSeconds, 1));
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return CallRecResults.Error(StatusCodes.Status429TooManyRequests, ErrorNumbers.SignInThrottled, $"Too many failed sign-ins; try again in {seconds} s.");
        }

        if (outcome.Result != SignInResult.Ok)
        {
            return CallRecResults.LoginDenied();
        }

        SignIn.SetCookie(context, outcome.SessionId!, "/callrec");
        return CallRecResults.LoginOk(outcome.SessionId!);
    }

    /// <summary>204, ending the session and its tokens; 302 without a live session.</summary>
    private static async Task<Results<NoContent, SignInRedirect>> LogOutAsync(HttpContext context, Callers callers, SessionService sessions, RequestAudit audit)
    {
        var caller = await callers.ResolveAsync(context);
        if (caller is null)
        {
            return CallRecResults.SignInRedirect(context);
        }

        await sessions.EndAsync(caller.Session.IdHash, context.RequestAborted);
        audit.Write(context, caller.Name, "logout", "ok");
        context.Response.Cookies.Delete("JSESSIONID", new CookieOptions { Path = "/callrec" });
        return TypedResults.NoContent();
    }
}

using CallMedia.Audit;
using CallMedia.Hosting;

namespace CallMedia.Auth;

/// <summary>Log In Service (API.md §1) and logout.</summary>
public static class LoginEndpoints
{
    public static void MapLoginEndpoints(this RouteGroupBuilder group)
    {
        group.MapMethods("/loginservlet", ["GET", "POST"], (Delegate)LogInAsync);
        group.MapPost("/logout", LogOutAsync);
    }

    private static async Task<IResult> LogInAsync(HttpContext context)
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
        if (outcome.Result != SignInResult.Ok)
        {
            if (outcome.Result == SignInResult.Throttled)
            {
                var seconds = (long)Math.Ceiling(Math.Max(outcome.RetryAfter!.Value.TotalSeconds, 1));
                context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return CallRecResults.Error(StatusCodes.Status429TooManyRequests, ErrorNumbers.SignInThrottled, $"Too many failed sign-ins; try again in {seconds} s.");
            }

            return CallRecResults.LoginDenied();
        }

        SignIn.SetCookie(context, outcome.SessionId!, "/callrec");
        return CallRecResults.LoginOk(outcome.SessionId!);
    }

    private static async Task<IResult> LogOutAsync(HttpContext context, SessionService sessions, UserStore users, AuditLog audit, TimeProvider clock)
    {
        var session = await sessions.ResolveRequestAsync(context);
        if (session is null)
        {
            return CallRecResults.SignInRedirect(context);
        }

        await sessions.EndAsync(session.IdHash, context.RequestAborted);
        var user = await users.LoadAccessAsync(session.UserId, context.RequestAborted);
        audit.Write(new AuditEntry(clock.GetUtcNow(), user?.Name, context.ClientAddress(), "logout", null, null, "ok"));
        context.Response.Cookies.Delete("JSESSIONID", new CookieOptions { Path = "/callrec" });
        return Results.NoContent();
    }
}

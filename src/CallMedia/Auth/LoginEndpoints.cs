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
    private static async Task<Results<CallRecXml, CallRecError>> LogInAsync(HttpContext context, UserStore users, SessionService sessions, LoginThrottle throttle, DemoAccount demo, RequestAudit audit)
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

        if (name is not null && (name.Length > 256 || name.Any(char.IsControl)))
        {
            name = null; // no such user can exist; counted against the address only
        }

        var client = context.ClientAddress();
        var wait = await throttle.TryAdmitAsync(name, client, context.RequestAborted);
        if (wait is not null)
        {
            await audit.WriteAsync(context, name, "login", "throttled");
            var seconds = (long)Math.Ceiling(Math.Max(wait.Value.TotalSeconds, 1));
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return CallRecResults.Error(StatusCodes.Status429TooManyRequests, ErrorNumbers.SignInThrottled, $"Too many failed sign-ins; try again in {seconds} s.");
        }

        var user = string.IsNullOrEmpty(name) ? null : await users.FindForLoginAsync(name, context.RequestAborted);

        // Always verify a hash, even for an unknown name, so timing tells nothing about which part was wrong.
        var passwordOk = PasswordHashing.Verify(user?.PasswordHash ?? PasswordHashing.DummyHash, password ?? "");
        if (user is null || !passwordOk || user.Value.Disabled || string.IsNullOrEmpty(password) || demo.Refuses(name, password))
        {
            // The attempt was counted as a failure when it was admitted.
            await audit.WriteAsync(context, name, "login", "denied");
            return CallRecResults.LoginDenied();
        }

        await throttle.RecordSuccessAsync(name!, client, context.RequestAborted);
        var sessionId = await sessions.CreateAsync(user.Value.Id, client, context.RequestAborted);
        context.Response.Cookies.Append("JSESSIONID", sessionId, new CookieOptions
        {
            Path = "/callrec",
            HttpOnly = true,
            Secure = context.Request.IsHttps,
            SameSite = SameSiteMode.Lax,
        });
        await audit.WriteAsync(context, name, "login", "ok");
        return CallRecResults.LoginOk(sessionId);
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
        await audit.WriteAsync(context, caller.Name, "logout", "ok");
        context.Response.Cookies.Delete("JSESSIONID", new CookieOptions { Path = "/callrec" });
        return TypedResults.NoContent();
    }
}

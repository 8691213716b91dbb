using CallMedia.Audit;
using CallMedia.Hosting;

namespace CallMedia.Auth;

/// <summary>Log In Service (API.md §1) and logout.</summary>
public static class LoginEndpoints
{
    public static void MapLoginEndpoints(this RouteGroupBuilder group)
    {
        group.MapMethods("/loginservlet", ["GET", "POST"], LogInAsync);
        group.MapPost("/logout", LogOutAsync);
    }

    private static async Task<IResult> LogInAsync(HttpContext context, UserStore users, SessionService sessions, LoginThrottle throttle, DemoAccount demo, AuditLog audit, TimeProvider clock)
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
            await audit.WriteAsync(new AuditEntry(clock.GetUtcNow(), name, client, "login", null, null, "throttled"));
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
            await audit.WriteAsync(new AuditEntry(clock.GetUtcNow(), name, client, "login", null, null, "denied"));
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
        await audit.WriteAsync(new AuditEntry(clock.GetUtcNow(), name, client, "login", null, null, "ok"));
        return CallRecResults.LoginOk(sessionId);
    }

    private static async Task<IResult> LogOutAsync(HttpContext context, SessionService sessions, UserStore users, AuditLog audit, TimeProvider clock)
    {
        var session = await sessions.ResolveAsync(context.SessionCandidate(), context.RequestAborted);
        if (session is null)
        {
            return CallRecResults.SignInRedirect(context);
        }

        await sessions.EndAsync(session.IdHash, context.RequestAborted);
        var user = await users.LoadAccessAsync(session.UserId, context.RequestAborted);
        await audit.WriteAsync(new AuditEntry(clock.GetUtcNow(), user?.Name, context.ClientAddress(), "logout", null, null, "ok"));
        context.Response.Cookies.Delete("JSESSIONID", new CookieOptions { Path = "/callrec" });
        return Results.NoContent();
    }
}

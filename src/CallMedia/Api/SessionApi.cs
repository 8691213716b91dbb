using CallMedia.Audit;
using CallMedia.Auth;
using CallMedia.Data;
using CallMedia.Hosting;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace CallMedia.Api;

/// <summary>Sign in, sign out, and who am I.</summary>
public static class SessionApi
{
    public static void MapSessionApi(this RouteGroupBuilder api, RouteGroupBuilder signedIn)
    {
        api.MapPost("/session", (Delegate)SignInAsync)
            .Accepts<SignInRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .WithSummary("Sign in; sets the JSESSIONID cookie (Path=/).");
        signedIn.MapDelete("/session", SignOutAsync).WithSummary("Sign out: the session and its unused tokens end.");
        signedIn.MapGet("/me", (Delegate)MeAsync).WithSummary("The signed-in user: rights, scope, when the session ends.");
    }

    public static async Task<Results<Ok<Me>, ProblemHttpResult>> SignInAsync(HttpContext context)
    {
        var body = await ApiInput.ReadBodyAsync<SignInRequest>(context.Request);
        var outcome = await SignIn.AttemptAsync(context, body.LoginName, body.Password);
        switch (outcome.Result)
        {
            case SignInResult.Throttled:
                var wait = outcome.RetryAfter ?? TimeSpan.FromSeconds(1);
                var seconds = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds));
                return ApiProblems.TooMany(context, $"Too many failed sign-ins; try again in {seconds} s.", wait);
            case SignInResult.Denied:
                return ApiProblems.AccessDenied();
        }

        SignIn.SetCookie(context, outcome.SessionId!, "/");
        var services = context.RequestServices;
        var session = await services.GetRequiredService<SessionService>().ResolveAsync(outcome.SessionId, context.RequestAborted);
        var user = session is null ? null : await services.GetRequiredService<UserStore>().LoadAccessAsync(session.UserId, context.RequestAborted);
        if (session is null || user is null)
        {
            return ApiProblems.AccessDenied();
        }

        return TypedResults.Ok(await DescribeAsync(context, new ApiCaller(session, user)));
    }

    public static async Task<NoContent> SignOutAsync(HttpContext context, SessionService sessions, AuditLog audit, TimeProvider clock)
    {
        var caller = ApiCaller.Of(context);
        await sessions.EndAsync(caller.Session.IdHash, context.RequestAborted);
        audit.Write(new AuditEntry(clock.GetUtcNow(), caller.User.Name, context.ClientAddress(), "logout", null, null, "ok"));
        context.Response.Cookies.Delete("JSESSIONID", new CookieOptions { Path = "/" });
        return TypedResults.NoContent();
    }

    public static async Task<Ok<Me>> MeAsync(HttpContext context) =>
        TypedResults.Ok(await DescribeAsync(context, ApiCaller.Of(context)));

    private static async Task<Me> DescribeAsync(HttpContext context, ApiCaller caller)
    {
        var services = context.RequestServices;
        var sessionOptions = services.GetRequiredService<IOptions<CallMedia.Auth.SessionOptions>>().Value;
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        long createdAt;
        await using (var connection = await services.GetRequiredService<Database>().OpenAsync(context.RequestAborted))
        {
            createdAt = await connection.ExecuteScalarAsync<long>("SELECT created_at FROM sessions WHERE id_hash = @IdHash", new { caller.Session.IdHash });
        }

        // The request just used the session, so it lasts an idle timeout from now, but never past its absolute end.
        var idleEnd = now + sessionOptions.IdleTimeout;
        var absoluteEnd = DateTimeOffset.FromUnixTimeMilliseconds(createdAt) + sessionOptions.MaxLifetime;
        var user = caller.User;
        return new Me
        {
            Name = user.Name,
            Rights = Rights.All.Where(user.Has).ToList(),
            Scope = user.ScopeAll ? "all" : user.Numbers.Order(StringComparer.Ordinal).ToList(),
            SessionExpiresAt = idleEnd < absoluteEnd ? idleEnd : absoluteEnd,
            RequireReason = services.GetRequiredService<IOptions<ApiOptions>>().Value.RequireReason,
        };
    }
}

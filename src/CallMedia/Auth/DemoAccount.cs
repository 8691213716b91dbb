using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace CallMedia.Auth;

/// <summary>
/// The demo user's well-known password is for a server that only loopback can reach. Whatever set the listening
/// addresses (<c>--urls</c>, <c>Kestrel:Endpoints</c> in arguments, appsettings or environment), the decision is
/// made from the addresses the server actually bound: until they are known to be loopback only, sign-in with the
/// well-known password is refused; if any is not, the demo user gets a random password (printed once by
/// <c>serve</c>), so there is no window between bind and reset.
/// </summary>
public sealed class DemoAccount(UserStore users, IServer server) : IHostedLifecycleService
{
    public const string User = "demo";
    public const string LoopbackPassword = "demo";

    private volatile bool _loopbackConfirmed;

    /// <summary>The demo sign-in to print when this start replaced the well-known password.</summary>
    public string? ReplacedSignIn { get; private set; }

    /// <summary>
    /// True for the well-known demo sign-in unless the server is known to be reachable from loopback only and this
    /// request is a loopback one: its client is loopback (a proxy on loopback that forwards the internet's clients, named
    /// in <c>Hosting:KnownProxies</c>, makes the client the forwarded address) and it names a loopback host (a page of
    /// another site whose name was made to resolve to 127.0.0.1, DNS rebinding, names its own).
    /// </summary>
    public bool Refuses(HttpContext context, string? name, string? password) =>
        string.Equals(name, User, StringComparison.Ordinal) && string.Equals(password, LoopbackPassword, StringComparison.Ordinal)
        && !(_loopbackConfirmed && IsLoopbackRequest(context));

    private static bool IsLoopbackRequest(HttpContext context)
    {
        if (context.Connection.RemoteIpAddress is not { } client || !IPAddress.IsLoopback(client))
        {
            return false;
        }

        var host = context.Request.Host.Host.Trim('[', ']');
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
    }

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
        if (addresses.Count > 0 && BindsLoopbackOnly(addresses))
        {
            _loopbackConfirmed = true;
            return;
        }

        var existing = await users.FindForLoginAsync(User, cancellationToken);
        if (existing is not null && PasswordHashing.Verify(existing.Value.PasswordHash, LoopbackPassword))
        {
            var password = Secrets.NewPassword();
            await users.SetPasswordAsync(User, password, cancellationToken);
            ReplacedSignIn = $"loginname={User} password={password} (the loopback-only default was replaced)";
        }
    }

    public static bool BindsLoopbackOnly(IEnumerable<string> urls) =>
        urls.Where(u => !string.IsNullOrWhiteSpace(u)).All(u =>
        {
            if (!Uri.TryCreate(u.Trim().Replace("://*", "://any", StringComparison.Ordinal).Replace("://+", "://any", StringComparison.Ordinal), UriKind.Absolute, out var uri))
            {
                return false;
            }

            return uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
        });

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

public static class DemoAccountRegistration
{
    /// <summary>The server's guard of the demo password (the CLI commands bind nothing and need none).</summary>
    public static IServiceCollection AddDemoAccount(this IServiceCollection services)
    {
        services.AddSingleton<DemoAccount>();
        services.AddHostedService(sp => sp.GetRequiredService<DemoAccount>());
        return services;
    }
}

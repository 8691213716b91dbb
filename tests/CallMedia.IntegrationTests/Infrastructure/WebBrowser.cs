using Microsoft.Playwright;

namespace CallMedia.IntegrationTests.Infrastructure;

/// <summary>
/// One headless Chromium (the system browser) and one real server for a class of web app tests; each test opens its
/// own browser context (its own cookies). Chromium is heavy on a small machine: keep to one per class.
/// </summary>
public sealed class WebBrowser : IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";

    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private TestServer? _server;

    public TestServer Server => _server ?? throw new InvalidOperationException("server not started");

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("browser not started");

    /// <summary>The repository's root (where package.json and node_modules are).</summary>
    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "package.json")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("package.json not found above the test's folder");
        }
    }

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(Chromium), "Chromium is not installed (scripts/setup.sh --test installs it)");
        _server = await TestServer.StartAsync("Web:RequireReason=true");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
            ],
        });
    }

    /// <summary>A fresh context (no cookies) at desktop or phone width. The app's own CSP stays in force unless bypassed (axe needs that).</summary>
    public Task<IBrowserContext> NewContextAsync(bool phone = false, bool bypassCsp = false) =>
        Browser.NewContextAsync(new()
        {
            BaseURL = Server.BaseAddress.ToString().TrimEnd('/'),
            ViewportSize = phone ? new ViewportSize { Width = 390, Height = 844 } : new ViewportSize { Width = 1366, Height = 860 },
            IsMobile = phone,
            HasTouch = phone,
            DeviceScaleFactor = phone ? 2 : 1,
            AcceptDownloads = true,
            BypassCSP = bypassCsp,
            Locale = "cs-CZ",
            TimezoneId = "Europe/Prague",
        });

    /// <summary>A page that fails the test on a script error or a CSP violation.</summary>
    public static async Task<IPage> NewPageAsync(IBrowserContext context, List<string> problems)
    {
        var page = await context.NewPageAsync();
        page.PageError += (_, error) => problems.Add("page error: " + error);
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && !message.Text.Contains("Failed to load resource", StringComparison.Ordinal))
            {
                problems.Add("console: " + message.Text);
            }
        };
        return page;
    }

    /// <summary>Signs in through the sign-in page, as a person would.</summary>
    public static async Task SignInAsync(IPage page, string name, string password)
    {
        await page.GetByLabel("Name").FillAsync(name);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/**
 * A JDBC URL may carry the password itself (`?password=…`, `;password=…`, or `user:password@` in
 * MySQL's form). Wherever a URL is shown, that part is masked; everything else stays, since host,
 * port and database are what an operator needs to see.
 */
export function maskUrlCredentials(url: string): string {
  return url
    .replace(/([?&;]password=)[^&;]*/gi, '$1****')
    .replace(/(\/\/[^/@?;]*?:)[^/@?;]*@/, '$1****@');
}

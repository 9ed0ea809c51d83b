package django

// SetBeforeRenewWrite makes st.Renew call f between its read of the row
// and its UPDATE, so that a test can land a Django save in that window.
func SetBeforeRenewWrite(st *Store, f func()) { st.beforeRenewWrite = f }
